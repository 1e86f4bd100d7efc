"""One run of one pipeline for one company: what every step of qbo_sync and qbo_import
receives, and how records pass between steps (the state store, never XCom)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import islice
from typing import Any, TypeVar

from accounting_sync.invoiced import InvoicedClient
from accounting_sync.quickbooks import QuickBooksClient
from accounting_sync.settings import SyncSettings
from accounting_sync.state import StateStore

SYNC_FLOW = "qbo_sync"
CHUNK = 1500  # records planned, resolved or written at a time (50 QBO batches)
LEASE_TTL = timedelta(minutes=15)  # renewed on every batch while a load runs


@dataclass
class SyncJob:
    """Everything one run of one company needs."""

    company: str
    store: StateStore
    settings: SyncSettings
    invoiced: InvoicedClient
    qbo: QuickBooksClient | None
    dag_id: str
    run_id: str
    dry_run: bool = False
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    @property
    def run_key(self) -> str:
        return f"{self.dag_id}/{self.run_id}"

    def count(self, kind: str, outcome: str, amount: int = 1) -> None:
        if amount:
            self.counts[kind][outcome] += amount

    def counts_dict(self) -> dict[str, dict[str, int]]:
        return {kind: dict(counter) for kind, counter in self.counts.items()}

    def stage(self, stage: str, kind: str, records: Any) -> int:
        return self.store.stage(self.company, self.run_key, stage, kind, records)

    def staged(self, stage: str, kind: str) -> Any:
        return self.store.staged(self.company, self.run_key, stage, kind)


def record_key(source_id: Any) -> str:
    """Zero-padded so staged records stream in numeric order."""
    text = str(source_id)
    return text.zfill(20) if text.isdigit() else text


T = TypeVar("T")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of ``size`` items (the last one shorter), without reading ahead further."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
