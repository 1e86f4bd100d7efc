"""The state store's schema: every table, the engine, and the session the repositories share.

This module owns the schema. It runs on SQLite (``make run``) and PostgreSQL (compose).
Tables are created on first use and creation is safe to repeat; ``SCHEMA_VERSION``
records what is there so later releases can migrate forward.

Why a store of our own instead of Airflow Variables or XCom: tasks may not touch the
Airflow metadata DB, XCom is not meant for payloads, and the id map, the write journal
and the token rotation all need transactions and row locks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Self

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from accounting_sync.common.values import utcnow

SCHEMA_VERSION = 5  # 2: state bindings (which QBO company and Invoiced account a state belongs to); 3: audit trail, ignored records, tie-outs, read cache; 4: webhook events; 5: tax codes written
IN_CHUNK = 500  # ids per "IN (...)" clause


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


class SchemaVersion(Base):
    __tablename__ = "schema_version"
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdMap(Base):
    """One row per synced record: which Invoiced record is which QBO record."""

    __tablename__ = "id_map"
    __table_args__ = (UniqueConstraint("company_key", "object_type", "invoiced_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    company_key: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    invoiced_id: Mapped[str] = mapped_column(String(64))
    qbo_id: Mapped[str] = mapped_column(String(64), index=True)
    sync_token: Mapped[str | None] = mapped_column(String(32))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WrittenTaxCode(Base):
    """Which of a VAT/GST company's tax codes carried an Invoiced tax rate on a document the
    sync wrote: the Configure page says which documents a changed mapping concerns."""

    __tablename__ = "written_tax_code"
    __table_args__ = (UniqueConstraint("company_key", "object_type", "invoiced_id", "rate_id", "code_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    company_key: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    invoiced_id: Mapped[str] = mapped_column(String(64))
    document_number: Mapped[str | None] = mapped_column(String(128))
    rate_id: Mapped[str] = mapped_column(String(64), index=True)
    code_name: Mapped[str] = mapped_column(String(128))


class SyncCursor(Base):
    __tablename__ = "sync_cursor"
    company_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RunKeyed:
    """The key of the tables that hold one row per run of a DAG, and finding that row."""

    company_key: Mapped[str] = mapped_column(String(64), index=True)
    dag_id: Mapped[str] = mapped_column(String(250))
    run_id: Mapped[str] = mapped_column(String(250))

    @classmethod
    def of_run(cls, session: Session, company: str, dag_id: str, run_id: str) -> Self | None:
        return session.scalar(select(cls).where(cls.company_key == company, cls.dag_id == dag_id, cls.run_id == run_id))


class SyncRun(RunKeyed, Base):
    __tablename__ = "sync_run"
    __table_args__ = (UniqueConstraint("company_key", "dag_id", "run_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(16), default="running")
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    summary: Mapped[str | None] = mapped_column(Text)


class RecordError(Base):
    """The latest failure of one record; resolved when the record later succeeds."""

    __tablename__ = "record_error"
    __table_args__ = (UniqueConstraint("company_key", "flow", "object_type", "source_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    company_key: Mapped[str] = mapped_column(String(64), index=True)
    flow: Mapped[str] = mapped_column(String(32))
    object_type: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(64))
    document_number: Mapped[str | None] = mapped_column(String(64))
    code: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    hint: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_run_id: Mapped[str | None] = mapped_column(String(250))
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    resolved_at: Mapped[datetime | None]


class IgnoredRecord(Base):
    """A failing record a person chose to stop retrying (Ignore on Recent Syncs): kept
    apart from its error, which every later attempt refreshes, until it changes at its
    source or someone presses Retry."""

    __tablename__ = "ignored_record"
    company_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    flow: Mapped[str] = mapped_column(String(32), primary_key=True)
    object_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ignored_by: Mapped[str] = mapped_column(String(256))
    ignored_at: Mapped[datetime] = mapped_column(default=utcnow)


class Setting(Base):
    __tablename__ = "setting"
    company_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReadCache(Base):
    """QuickBooks reference data read once and kept for a lifetime (``store.cache``)."""

    __tablename__ = "read_cache"
    company_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthToken(Base):
    """Encrypted QuickBooks tokens. ``version`` increases on every rotation."""

    __tablename__ = "oauth_token"
    company_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    realm_id: Mapped[str | None] = mapped_column(String(64))
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None]
    refresh_expires_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="connected")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WriteIntent(Base):
    """The write journal: a request is recorded before it is sent and removed once its
    answer is applied, so a crash in between is replayed with the same QBO requestid."""

    __tablename__ = "write_intent"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    company_key: Mapped[str] = mapped_column(String(64), index=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    phase: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StagedRecord(Base):
    """Records handed from one task to the next (instead of XCom payloads)."""

    __tablename__ = "staged_record"
    company_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_key: Mapped[str] = mapped_column(String(250), primary_key=True)
    stage: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class Lease(Base):
    """A named lock with an expiry, so a crashed holder cannot block forever."""

    __tablename__ = "lease"
    company_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(250))
    expires_at: Mapped[datetime]


class StateBinding(Base):
    """Which QBO company (realm) and Invoiced account one set of sync state belongs to.

    Every table keyed by ``company_key`` except tokens and bindings holds the state of
    one binding: its ``scope_key``. A company has one active binding at a time; the
    others are kept, so reconnecting an earlier pair brings its state back."""

    __tablename__ = "state_binding"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    company_key: Mapped[str] = mapped_column(String(64), index=True)
    scope_key: Mapped[str] = mapped_column(String(64), unique=True)
    realm_id: Mapped[str] = mapped_column(String(64))
    invoiced_fingerprint: Mapped[str] = mapped_column(String(64))
    invoiced_anchors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BindingHold(Base):
    """Why a company's sync is held: a connection now points at another QBO company or
    Invoiced account than its state belongs to. Cleared when the user chooses."""

    __tablename__ = "binding_hold"
    company_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    side: Mapped[str] = mapped_column(String(16), primary_key=True)  # quickbooks | invoiced
    found: Mapped[str] = mapped_column(String(64))  # the realm id or Invoiced fingerprint now connected
    message: Mapped[str] = mapped_column(Text)
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Who changed how a company is synced, and when: kept with the state, not in a log
    that rotates away, so the Connection page can show it months later."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    company_key: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[str] = mapped_column(String(256))
    user_name: Mapped[str] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TieOutRecord(RunKeyed, Base):
    """The tie-out of one run: both ledgers compared, and every difference explained."""

    __tablename__ = "tie_out"
    __table_args__ = (UniqueConstraint("company_key", "dag_id", "run_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    unexplained: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[str] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)


class ReceivedEvent(Base):
    """A change Invoiced or Intuit announced by webhook. ``announced_at``: when the trigger
    asked Airflow for a run of the company's DAG; kept a week longer, as the unique key is
    how a repeated delivery of the same event is recognised."""

    __tablename__ = "webhook_event"
    __table_args__ = (UniqueConstraint("company_key", "source", "event_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    company_key: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(16))  # invoiced | quickbooks
    event_id: Mapped[str] = mapped_column(String(128))
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    announced_at: Mapped[datetime | None] = mapped_column(index=True)


def _configure_sqlite(engine: Engine) -> None:
    """Make SQLite behave: WAL, a busy timeout, and BEGIN IMMEDIATE so that every
    transaction takes the write lock up front (the SQLite equivalent of a row lock,
    and no deadlock when a reader later writes)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


class Repository:
    """What every repository of the store works with: one engine, short transactions."""

    engine: Engine
    _sessions: sessionmaker[Session]

    def connect(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._sessions.begin() as session:
            yield session
