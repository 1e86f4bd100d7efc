"""The extract step of qbo_sync: every Invoiced record this run has to look at, staged.

Invoices, payments and customers changed since their cursors (with overlap) are streamed
page by page into the state store, with the records that failed last time and the few
that others refer to (read one by one). Only ids and references are kept in memory.
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
CURSORS = ("invoices", "payments", "customers")
FETCH_ONE_BY_ONE = 50


@dataclass
class Seen:
    """What extract remembers of the records it staged: ids and references, not records,
    so its memory does not grow with the size of the run."""

    ids: set[str] = field(default_factory=set)
    customers: set[str] = field(default_factory=set)
    applied: set[str] = field(default_factory=set)

    def note(self, record: dict[str, Any]) -> None:
        self.ids.add(str(record["id"]))
        if record.get("customer") not in (None, ""):
            self.customers.add(str(record["customer"]))
        for split in record.get("applied_to") or []:
            if split.get("type") == "invoice" and split.get("invoice") is not None:
                self.applied.add(str(split["invoice"]))


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
    if not job.settings.write_payments:
        del cursors["payments"]

    invoices, payments, customers = Seen(), Seen(), Seen()
    if "invoices" in cursors:
        _stage(job, "invoice", _listed(job, "/invoices", cursors["invoices"], INVOICE_INCLUDE), invoices)
    retry = job.store.unresolved_source_ids(job.company, FLOW, "invoice") - invoices.ids
    _stage(job, "invoice", _fetched(job, "/invoices", retry, INVOICE_INCLUDE), invoices)

    if "payments" in cursors:
        _stage(job, "payment", _listed(job, "/payments", cursors["payments"], "applied_to"), payments)
    retry = job.store.unresolved_source_ids(job.company, FLOW, "payment") - payments.ids
    _stage(job, "payment", _fetched(job, "/payments", retry, "applied_to"), payments)

    # Invoices that payments apply to and that this run has not seen: their date decides
    # whether the payment is before the sync start date.
    unseen = payments.applied - invoices.ids
    unseen -= set(job.store.get_mappings(job.company, "invoice", unseen))
    unseen -= job.store.ignored_ids(job.company, FLOW, "invoice")
    _stage(job, "invoice", _fetched(job, "/invoices", unseen, INVOICE_INCLUDE), invoices)

    _extract_customers(job, invoices.customers | payments.customers, cursors["customers"], customers)

    counts = {"invoices": len(invoices.ids), "payments": len(payments.ids), "customers": len(customers.ids)}
    positions = {name: cursor.next_position() for name, cursor in cursors.items()}
    job.stage("extract", "meta", [("cursors", {name: value for name, value in positions.items() if value is not None})])
    log.info("Extracted from Invoiced: %s", counts)
    return counts


def _stage(job: SyncJob, kind: str, records: Iterator[dict[str, Any]], seen: Seen) -> None:
    def keyed() -> Iterator[tuple[str, dict[str, Any]]]:
        for record in records:
            seen.note(record)
            yield record_key(record["id"]), record

    job.stage("extract", kind, keyed())


def _listed(
    job: SyncJob, path: str, cursor: Cursor, include: str, everything: bool = False
) -> Iterator[dict[str, Any]]:
    """Records changed after the cursor (every record with ``everything``), streamed page
    by page; the cursor learns the server's clock from the listing."""
    since = {} if everything or cursor.start is None else {"updated_after": cursor.start_epoch}
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
