"""The extract step of qbo_import: every QuickBooks record this run has to look at, staged.

What changed since the cursors (with overlap) comes from one change-data-capture read for
customers, invoices and credit memos: the changed records, voids among them, and deletions as
tombstones, however many imported invoices are still open. A type CDC cannot answer for
sure is read by queries instead, as before CDC: on the first run (no cursor), when its
cursor is older than CDC reaches (30 days), when QBO refuses the read, or when the answer
reached CDC's 1,000-object cap (the rest would be cut silently). Then the imported invoices
that are still open are read back by id too, which is how deletions show without CDC.
The records that failed last time (by id, batched), the customers of outstanding
invoices and the payments that apply the credit memos are read in any case.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from accounting_sync.common.cursor import ISO, Cursor
from accounting_sync.common.flows import IMPORT
from accounting_sync.common.ignores import Ignores
from accounting_sync.common.job import SyncJob, record_key
from accounting_sync.common.values import money, utcnow
from accounting_sync.qbo_import.plan import is_open
from accounting_sync.qbo_import.transform import linked_payments
from accounting_sync.quickbooks.client import CDC_REACH, Changes, QuickBooksClient, rows_by_id
from accounting_sync.quickbooks.faults import QboFault
from accounting_sync.store.idmap import ORIGIN_QUICKBOOKS

log = logging.getLogger(__name__)

FLOW = IMPORT.name
KINDS = {"Customer": "customer", "Invoice": "invoice", "CreditMemo": "credit_note"}
"""The object type each QBO entity is recorded under (errors, ignores) once imported."""


@dataclass
class Stream:
    """One type's changes this run, read through CDC or by queries."""

    entity: str
    name: str
    """The cursor's name (``qbo_import.<name>``)."""
    cursor: Cursor
    first_where: str
    """What the first run reads, without a cursor."""
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    by_cdc: bool = False

    @property
    def cdc_reaches(self) -> bool:
        return self.cursor.start is not None and utcnow() - self.cursor.start < CDC_REACH

    def take(self, changes: Changes) -> None:
        self.rows = {str(row["Id"]): row for row in changes.changed(self.entity)}
        self.deleted = changes.deleted(self.entity)
        self.cursor.read_at(changes.time)
        self.by_cdc = True

    def query(self, client: QuickBooksClient) -> None:
        start = self.cursor.start_iso
        where = self.first_where if start is None else f"MetaData.LastUpdatedTime >= '{start}'"
        self.rows = {str(row["Id"]): row for row in client.query_rows(self.entity, where, began=self.cursor.read_at)}
        for row in self.rows.values():
            self.cursor.observe(row["MetaData"]["LastUpdatedTime"])


def stage_changes(job: SyncJob, full_reimport: bool = False) -> dict[str, int]:
    """Stage every QBO record this run has to look at."""
    assert job.qbo is not None
    job.store.clear_stage(job.company, f"{job.dag_id}/")
    streams = _streams(job, full_reimport)
    read_changes(job.qbo, list(streams.values()))
    for stream in streams.values():
        _leave_out_ignored(job, stream)
    customers: dict[str, dict[str, Any]] = {}
    invoices: dict[str, dict[str, Any]] = {}
    refs: dict[str, dict[str, Any]] = {}
    deleted: set[str] = set()
    memos: dict[str, dict[str, Any]] = {}
    deleted_memos: set[str] = set()
    if "Customer" in streams:
        customers = streams["Customer"].rows
        retry = _failed_ids(job, "customer") - customers.keys()
        customers.update(_by_id(job.qbo, "Customer", retry, "Active IN (true, false)"))
    if "Invoice" in streams:
        invoices, deleted = _documents(job, streams["Invoice"])
        wanted = {str(i["CustomerRef"]["value"]) for i in invoices.values() if money(i.get("Balance", 0)) > 0}
        unmapped = wanted - customers.keys() - job.store.find_by_qbo_id(job.company, "customer", wanted).keys()
        refs = _by_id(job.qbo, "Customer", unmapped, "Active IN (true, false)")
    if "CreditMemo" in streams:
        memos, deleted_memos = _documents(job, streams["CreditMemo"])
    applying = _by_id(job.qbo, "Payment", {p for memo in memos.values() for p in linked_payments(memo)})
    counts = {
        "customers": job.stage("extract", "customer", _keyed(customers)),
        "customer_refs": job.stage("extract", "customer_ref", _keyed(refs)),
        "invoices": job.stage("extract", "invoice", _keyed(invoices)),
        "deleted": job.stage("extract", "deleted", _tombstones(deleted)),
        "credit_memos": job.stage("extract", "credit_memo", _keyed(memos)),
        "deleted_credit_memos": job.stage("extract", "deleted_credit_memo", _tombstones(deleted_memos)),
        "credit_payments": job.stage("extract", "credit_payment", _keyed(applying)),
    }
    cursors = {stream.name: position for stream in streams.values()
               if (position := stream.cursor.next_position()) is not None}
    job.stage("extract", "meta", [("cursors", cursors)])
    log.info("Read from QuickBooks: %s (%s QBO reads)", counts, sum(job.qbo.calls.values()))
    return counts


def _streams(job: SyncJob, full: bool) -> dict[str, Stream]:
    """The types this company imports: every customer and the outstanding invoices and
    credit memos (those with credit left) on the first run, what changed since the cursor
    afterwards."""
    wanted = [("Customer", "customers", "", job.settings.import_customers),
              ("Invoice", "invoices", "Balance > '0'", job.settings.import_invoices),
              ("CreditMemo", "credit_memos", "Balance > '0'", job.settings.import_credit_notes)]
    overlap = job.settings.cursor_overlap_seconds
    return {
        entity: Stream(entity, name, Cursor.load(job.store, job.company, f"{FLOW}.{name}", overlap, kind=ISO,
                                                 full=full), first_where)
        for entity, name, first_where, on in wanted if on
    }


def read_changes(client: QuickBooksClient, streams: list[Stream]) -> None:
    """One CDC read for every type it reaches; queries for the others and for a type
    whose answer may have been cut at the cap."""
    reachable = [stream for stream in streams if stream.cdc_reaches]
    changes = _cdc(client, reachable) if reachable else None
    for stream in streams:
        if changes is not None and stream in reachable and changes.complete(stream.entity):
            stream.take(changes)
        else:
            stream.query(client)


def _cdc(client: QuickBooksClient, streams: list[Stream]) -> Changes | None:
    since = min(stream.cursor.start for stream in streams if stream.cursor.start is not None)
    try:
        return client.cdc([stream.entity for stream in streams], since)
    except QboFault as refused:
        if refused.status != 400:
            raise
        log.warning("QuickBooks refused the change-data-capture read (%s): reading by queries", refused)
        return None


def _documents(job: SyncJob, stream: Stream) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """The changed invoices (or credit memos) plus those read back by id, and the deleted
    imports: CDC names them; without it an open import missing from QBO is one."""
    assert job.qbo is not None
    kind = KINDS[stream.entity]
    documents = stream.rows
    watched = _failed_ids(job, kind) | (set() if stream.by_cdc else _open_imports(job, kind))
    watched -= documents.keys() | job.store.ignored_ids(job.company, FLOW, kind)
    found = _by_id(job.qbo, stream.entity, watched)
    documents.update(found)
    mapped = job.store.find_by_qbo_id(job.company, kind, stream.deleted)
    imported = {qbo_id for qbo_id, record in mapped.items() if record.origin == ORIGIN_QUICKBOOKS}
    return documents, (watched - found.keys()) | imported


def _leave_out_ignored(job: SyncJob, stream: Stream) -> None:
    """Ignored records stay out of the run unless QuickBooks changed them since."""
    ignores = Ignores(job.store, job.company, FLOW, KINDS[stream.entity])
    stream.rows = {
        qbo_id: row for qbo_id, row in stream.rows.items()
        if ignores.keep(qbo_id, datetime.fromisoformat(row["MetaData"]["LastUpdatedTime"]))
    }
    ignores.lift_changed()


def _keyed(records: dict[str, dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    return ((record_key(qbo_id), record) for qbo_id, record in records.items())


def _tombstones(ids: set[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    return ((record_key(i), {"Id": i}) for i in sorted(ids))


def _by_id(client: QuickBooksClient, entity: str, ids: Iterable[str], where: str = "") -> dict[str, dict[str, Any]]:
    """The current version of each record; deleted ones are simply absent."""
    return {str(row["Id"]): row for row in rows_by_id(client, entity, ids, where)}


def _open_imports(job: SyncJob, kind: str) -> set[str]:
    """QBO ids of imported invoices (or credit notes) that were still open when last seen."""
    mappings = job.store.get_mappings(job.company, kind).values()
    return {m.qbo_id for m in mappings if m.origin == ORIGIN_QUICKBOOKS and is_open(m)}


def _failed_ids(job: SyncJob, object_type: str) -> set[str]:
    return job.store.unresolved_source_ids(job.company, FLOW, object_type)
