"""``StateStore``: everything the sync must remember between runs, keyed by company, in
one database (SQLite for ``make run``, PostgreSQL in the compose deployment).

A thin facade: each concern is a small repository of its own (``idmap``, ``cursors``,
``journal``, ``staging``, ``leases``, ``runs``, ``settings``, ``tokens``, ``bindings``,
``audit``, ``tieouts``, ``cache``, ``webhooks``),
all sharing the engine and the short transactions of ``schema.Repository``. Every method
is one short transaction."""

from __future__ import annotations

import functools

from sqlalchemy import func, select

from accounting_sync.config.connections import state_store_url
from accounting_sync.store.audit import AuditRepository
from accounting_sync.store.bindings import BindingRepository
from accounting_sync.store.cache import ReadCacheRepository
from accounting_sync.store.cursors import CursorRepository
from accounting_sync.store.idmap import IdMapRepository
from accounting_sync.store.journal import JournalRepository
from accounting_sync.store.leases import LeaseRepository
from accounting_sync.store.runs import RunRepository
from accounting_sync.store.schema import SCHEMA_VERSION, Base, SchemaVersion
from accounting_sync.store.settings import SettingsRepository
from accounting_sync.store.staging import StagingRepository
from accounting_sync.store.tieouts import TieOutRepository
from accounting_sync.store.tokens import TokenRepository
from accounting_sync.store.webhooks import WebhookRepository


class StateStore(
    IdMapRepository,
    CursorRepository,
    JournalRepository,
    StagingRepository,
    LeaseRepository,
    RunRepository,
    SettingsRepository,
    TokenRepository,
    BindingRepository,
    AuditRepository,
    TieOutRepository,
    ReadCacheRepository,
    WebhookRepository,
):
    """Typed access to the state tables; tables are created on first use."""

    def __init__(self, url: str) -> None:
        self.connect(url)
        self.migrate()

    def migrate(self) -> None:
        """Create missing tables and record the schema version; safe to repeat and to
        run from several processes at once."""
        Base.metadata.create_all(self.engine)
        with self.session() as session:
            if session.get(SchemaVersion, SCHEMA_VERSION) is None:
                session.merge(SchemaVersion(version=SCHEMA_VERSION))

    def schema_version(self) -> int:
        with self.session() as session:
            return int(session.scalar(select(func.max(SchemaVersion.version))) or 0)


@functools.cache
def open_store(url: str | None = None) -> StateStore:
    """The deployment's state store (connection ``accounting_sync_db``), one per process."""
    return StateStore(url or state_store_url())
