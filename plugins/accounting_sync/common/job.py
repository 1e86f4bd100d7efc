"""One run of one pipeline for one company: what every step of qbo_sync and qbo_import
receives, and how records pass between steps (the state store, never XCom)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from accounting_sync.common import binding
from accounting_sync.config.connections import QuickBooksConfig
from accounting_sync.config.settings import SyncSettings, resolve_settings
from accounting_sync.invoiced.client import InvoicedClient
from accounting_sync.quickbooks.client import QuickBooksClient
from accounting_sync.quickbooks.oauth import TokenManager
from accounting_sync.store.facade import StateStore

CHUNK = 1500  # records planned, resolved or written at a time (50 QBO batches)
LEASE_TTL = timedelta(minutes=15)  # renewed on every batch while a load runs


@dataclass
class SyncJob:
    """Everything one run of one company needs. ``company`` is the key of the state it
    works on: the scope bound to the QBO company and Invoiced account connected now."""

    company: str
    store: StateStore
    settings: SyncSettings
    invoiced: InvoicedClient
    qbo: QuickBooksClient | None
    dag_id: str
    run_id: str
    dry_run: bool = False
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    @classmethod
    def bind(
        cls,
        store: StateStore,
        company: str,
        invoiced: InvoicedClient,
        qbo_config: QuickBooksConfig | None,
        *,
        company_settings: dict[str, Any] | None,
        dag_id: str,
        run_id: str,
        dry_run: bool = False,
    ) -> SyncJob:
        """A job on the state that belongs to the pair the connections reach now; raises
        ``StateHeld`` when a connection points at another company than that state's."""
        token = store.read_token(company)
        connected = token is not None and token.status != "disconnected"
        scope = binding.resolve(store, company, token.realm_id if connected and token else None, invoiced)
        qbo = None
        if qbo_config is not None:
            qbo = QuickBooksClient(qbo_config, TokenManager(store, company, qbo_config, scope.realm_id))
        return cls(
            company=scope.key,
            store=store,
            settings=resolve_settings(company_settings, store.get_settings(scope.key)),
            invoiced=invoiced,
            qbo=qbo,
            dag_id=dag_id,
            run_id=run_id,
            dry_run=dry_run,
        )

    @property
    def run_key(self) -> str:
        return f"{self.dag_id}/{self.run_id}"

    def start_run(self) -> None:
        """Record that this run started (its report records how it ended)."""
        self.store.start_run(self.company, self.dag_id, self.run_id, self.dry_run)

    def count(self, kind: str, outcome: str, amount: int = 1) -> None:
        if amount:
            self.counts[kind][outcome] += amount

    def counts_dict(self) -> dict[str, dict[str, int]]:
        return {kind: dict(counter) for kind, counter in self.counts.items()}

    def stage(self, stage: str, kind: str, records: Any) -> int:
        return self.store.stage(self.company, self.run_key, stage, kind, records)

    def staged(self, stage: str, kind: str) -> Any:
        return self.store.staged(self.company, self.run_key, stage, kind)

    def save_cursors(self, flow: str) -> None:
        """Move the cursors extract staged: only once everything they cover is recorded."""
        cursors = dict(next(iter(self.staged("extract", "meta")), ("", {}))[1])
        for name, value in cursors.items():
            self.store.set_cursor(self.company, f"{flow}.{name}", str(value))

    def loaded(self) -> dict[str, dict[str, int]]:
        """The load step's counts, staged for the report."""
        counts = self.counts_dict()
        self.stage("load", "counts", [("counts", counts)])
        return counts


def record_key(source_id: Any) -> str:
    """Zero-padded so staged records stream in numeric order."""
    text = str(source_id)
    return text.zfill(20) if text.isdigit() else text

