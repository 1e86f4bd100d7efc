"""The extract step of qbo_sync: every Invoiced record this run has to look at, staged.

Invoices, credit notes, payments, refunds and customers changed since their cursors (with
overlap) are streamed page by page into the state store, with the records that failed
last time and the few that others refer to (read one by one). Only ids and references
are kept in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from accounting_sync.common.cursor import Cursor
from accounting_sync.common.flows import SYNC
from accounting_sync.common.ignores import Ignores
from accounting_sync.common.job import SyncJob, record_key
from accounting_sync.invoiced.client import InvoicedError

log = logging.getLogger(__name__)

FLOW = SYNC.name
INVOICE_INCLUDE = "voided,date_voided,date_bad_debt,amount_written_off,amount_paid,amount_credited"
CREDIT_NOTE_INCLUDE = "voided,date_voided,amount_credited,amount_applied_to_invoice,amount_refunded"
REFUNDS = {"filter[type]": "refund"}
"""Refunds are legacy transactions of type ``refund`` (the list holds other types too)."""
CURSORS = ("invoices", "credit_notes", "payments", "refunds", "customers")
FETCH_ONE_BY_ONE = 50


@dataclass
class Seen:
    """What extract remembers of the records it staged: ids and references, not records,
    so its memory does not grow with the size of the run."""

    ids: set[str] = field(default_factory=set)
    customers: set[str] = field(default_factory=set)
    applied: set[str] = field(default_factory=set)
    credit_notes: set[str] = field(default_factory=set)

    def note(self, record: dict[str, Any]) -> None:
        self.ids.add(str(record["id"]))
        if record.get("customer") not in (None, ""):
            self.customers.add(str(record["customer"]))
        for split in record.get("applied_to") or []:
            if split.get("type") in ("invoice", "credit_note") and split.get("invoice") is not None:
                self.applied.add(str(split["invoice"]))
            if split.get("type") == "credit_note" and split.get("credit_note") is not None:
                self.credit_notes.add(str(split["credit_note"]))


def stage_changes(job: SyncJob, full_resync: bool = False, since: str | None = None) -> dict[str, int]:
    """Stage every Invoiced record this run has to look at, page by page."""
    job.store.clear_stage(job.company, f"{job.dag_id}/")
    overlap = job.settings.cursor_overlap_seconds
    cursors = {
        name: Cursor.load(job.store, job.company, f"{FLOW}.{name}", overlap, full=full_resync, since=since)
        for name in CURSORS
    }
    # A flow turned off on the Configure page is not read, and its cursor stays where it
    # is, so turning it back on later picks up everything that changed meanwhile.
    if not job.settings.write_invoices:
        del cursors["invoices"]
    if not job.settings.write_credit_notes:
        del cursors["credit_notes"]
    if not job.settings.write_payments:
        del cursors["payments"], cursors["refunds"]

    invoices, credit_notes, payments, refunds, customers = Seen(), Seen(), Seen(), Seen(), Seen()
    _stage_kind(job, "invoice", "/invoices", cursors.get("invoices"), INVOICE_INCLUDE, invoices)
    _stage_kind(job, "credit_note", "/credit_notes", cursors.get("credit_notes"), CREDIT_NOTE_INCLUDE, credit_notes)
    _stage_kind(job, "payment", "/payments", cursors.get("payments"), "applied_to", payments)
    _stage_kind(job, "refund", "/transactions", cursors.get("refunds"), "", refunds, REFUNDS)

    # Documents that payments apply and that this run has not seen: an invoice's date
    # decides whether the payment is before the sync start date; a credit note tells
    # whether it is a bad-debt write-off.
    unseen = payments.applied - invoices.ids
    unseen -= set(job.store.get_mappings(job.company, "invoice", unseen))
    unseen -= job.store.ignored_ids(job.company, FLOW, "invoice")
    _stage(job, "invoice", _fetched(job, "/invoices", unseen, INVOICE_INCLUDE), invoices)
    unseen = payments.credit_notes - credit_notes.ids
    unseen -= set(job.store.get_mappings(job.company, "credit_note", unseen))
    _stage(job, "credit_note", _fetched(job, "/credit_notes", unseen, CREDIT_NOTE_INCLUDE), credit_notes)

    referenced = invoices.customers | credit_notes.customers | payments.customers | refunds.customers
    _extract_customers(job, referenced, cursors["customers"], customers)

    counts = {
        "invoices": len(invoices.ids),
        "credit_notes": len(credit_notes.ids),
        "payments": len(payments.ids),
        "refunds": len(refunds.ids),
        "customers": len(customers.ids),
    }
    positions = {name: cursor.next_position() for name, cursor in cursors.items()}
    job.stage("extract", "meta", [("cursors", {name: value for name, value in positions.items() if value is not None})])
    log.info("Extracted from Invoiced: %s", counts)
    return counts


def _stage_kind(
    job: SyncJob,
    kind: str,
    path: str,
    cursor: Cursor | None,
    include: str,
    seen: Seen,
    filters: dict[str, str] | None = None,
) -> None:
    """What changed since the cursor (none when the flow is off), then what failed last time."""
    if cursor is not None:
        _stage(job, kind, _listed(job, path, cursor, include, filters=filters), seen)
    retry = job.store.unresolved_source_ids(job.company, FLOW, kind) - seen.ids
    _stage(job, kind, _fetched(job, path, retry, include), seen)


def _stage(job: SyncJob, kind: str, records: Iterator[dict[str, Any]], seen: Seen) -> None:
    def keyed() -> Iterator[tuple[str, dict[str, Any]]]:
        for record in records:
            seen.note(record)
            yield record_key(record["id"]), record

    job.stage("extract", kind, keyed())


def _listed(
    job: SyncJob,
    path: str,
    cursor: Cursor,
    include: str,
    everything: bool = False,
    filters: dict[str, str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Records changed after the cursor (every record with ``everything``), streamed page
    by page; the cursor learns the server's clock from the listing."""
    since: dict[str, Any] = {} if everything or cursor.start is None else {"updated_after": cursor.start_epoch}
    since.update(filters or {})
    listing = job.invoiced.iter_list(path, {"include": include, **since} if include else since)
    ignores = Ignores(job.store, job.company, FLOW, path.strip("/").removesuffix("s"))
    for record in listing:
        cursor.observe(record.get("updated_at") or 0)
        if ignores.keep(str(record["id"]), datetime.fromtimestamp(int(record.get("updated_at") or 0), timezone.utc)):
            yield record
    cursor.read_at(listing.server_time)
    ignores.lift_changed()


def _fetched(job: SyncJob, path: str, ids: set[str], include: str) -> Iterator[dict[str, Any]]:
    """Records read one by one (a few: retries and references); deleted ones are skipped."""
    params = {"include": include} if include else {}
    for record_id in sorted(ids):
        try:
            yield dict(job.invoiced.get(f"{path}/{record_id}", params))
        except InvoicedError as error:
            if error.status != 404:
                raise


def _extract_customers(job: SyncJob, referenced: set[str], cursor: Cursor, seen: Seen) -> None:
    """Customers changed since the cursor, plus the unmapped ones the records refer to
    (one GET each when they are few, else one streamed list of every customer)."""
    missing = referenced - set(job.store.get_mappings(job.company, "customer", referenced))
    start = cursor.start_epoch
    if start is not None and len(missing) > FETCH_ONE_BY_ONE:
        wanted = (
            c for c in _listed(job, "/customers", cursor, "", everything=True)
            if str(c["id"]) in missing or int(c.get("updated_at") or 0) > start
        )
        _stage(job, "customer", wanted, seen)
    else:
        _stage(job, "customer", _listed(job, "/customers", cursor, ""), seen)
    _stage(job, "customer", _fetched(job, "/customers", missing - seen.ids, ""), seen)
