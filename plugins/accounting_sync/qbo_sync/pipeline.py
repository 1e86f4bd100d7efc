"""qbo_sync: Invoiced -> QuickBooks Online, as four steps the DAG wires together.

extract   streams changed Invoiced records (cursor with overlap) into the state store;
transform turns them into QBO payloads and decides create / update / void / skip;
load      writes them to QBO (customers, items, invoices, payments, bad debts) exactly once;
report    records the run and fails it, after everything was tried, if a record failed.

Records pass between steps through the state store, never through XCom.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from accounting_sync.common.cursor import Cursor
from accounting_sync.common.job import CHUNK, LEASE_TTL, SYNC_FLOW, SyncJob, record_key
from accounting_sync.common.report import RecordsFailed, close_run
from accounting_sync.common.values import chunked
from accounting_sync.invoiced.client import InvoicedError
from accounting_sync.qbo_import.transform import recorded_from_quickbooks
from accounting_sync.qbo_sync.load import Loader
from accounting_sync.qbo_sync.transform import (
    Planned,
    group_lines,
    lines_frame,
    plan_bad_debt,
    plan_invoice,
    plan_payment,
)
from accounting_sync.qbo_sync.writer import replay_journal
from accounting_sync.store.idmap import ORIGIN_INVOICED, ORIGIN_QUICKBOOKS

log = logging.getLogger(__name__)

FLOW = SYNC_FLOW
INVOICE_INCLUDE = "voided,date_voided,date_bad_debt,amount_written_off,amount_paid,amount_credited"
CURSORS = ("invoices", "payments", "customers")
FETCH_ONE_BY_ONE = 50


# -- extract --------------------------------------------------------------------------------


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


def extract(job: SyncJob, full_resync: bool = False, since: str | None = None) -> dict[str, int]:
    """Stage every Invoiced record this run has to look at, page by page."""
    job.store.clear_stage(job.company, f"{job.dag_id}/")
    overlap = job.settings.cursor_overlap_seconds
    cursors = {
        name: Cursor.load(job.store, job.company, f"{FLOW}.{name}", overlap, full_resync, since) for name in CURSORS
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
    _stage(job, "invoice", _fetched(job, "/invoices", unseen, INVOICE_INCLUDE), invoices)

    _extract_customers(job, invoices.customers | payments.customers, cursors["customers"], customers)

    counts = {"invoices": len(invoices.ids), "payments": len(payments.ids), "customers": len(customers.ids)}
    job.stage("extract", "meta", [("cursors", {name: cursor.next_value() for name, cursor in cursors.items()})])
    log.info("Extracted from Invoiced: %s", counts)
    return counts


def _stage(job: SyncJob, kind: str, records: Iterator[dict[str, Any]], seen: Seen) -> None:
    def keyed() -> Iterator[tuple[str, dict[str, Any]]]:
        for record in records:
            seen.note(record)
            yield record_key(record["id"]), record

    job.stage("extract", kind, keyed())


def _listed(job: SyncJob, path: str, cursor: Cursor, include: str) -> Iterator[dict[str, Any]]:
    """Records changed after the cursor, streamed page by page."""
    params = {"include": include, **cursor.params()} if include else cursor.params()
    for record in job.invoiced.iter_list(path, params):
        cursor.observe(record)
        yield record
    cursor.server_time = job.invoiced.list_started_at


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
    if cursor.start is not None and len(missing) > FETCH_ONE_BY_ONE:
        start = cursor.start
        every = Cursor(cursor.name, None, cursor.overlap)
        wanted = (
            c for c in _listed(job, "/customers", every, "")
            if str(c["id"]) in missing or int(c.get("updated_at") or 0) > start
        )
        _stage(job, "customer", wanted, seen)
        cursor.server_time, cursor.newest_seen = every.server_time, every.newest_seen
    else:
        _stage(job, "customer", _listed(job, "/customers", cursor, ""), seen)
    _stage(job, "customer", _fetched(job, "/customers", missing - seen.ids, ""), seen)


# -- transform ------------------------------------------------------------------------------


def transform(job: SyncJob) -> dict[str, int]:
    """Plan every write, a chunk of staged records at a time; the plan is staged for the
    load step. Only a small brief of each invoice is kept for the payments that follow."""
    summary: Counter[str] = Counter()
    item_names: dict[str, str] = {}
    briefs: dict[str, dict[str, Any]] = {}
    for chunk in chunked((payload for _, payload in job.staged("extract", "invoice")), CHUNK):
        _stage_plans(job, _plan_invoices(job, chunk, item_names), summary)
        briefs.update({str(i["id"]): {k: i.get(k) for k in ("id", "number", "date", "status")} for i in chunk})
    for chunk in chunked((payload for _, payload in job.staged("extract", "payment")), CHUNK):
        _stage_plans(job, _plan_payments(job, chunk, briefs), summary)
    job.stage("transform", "items", [("names", item_names)])
    log.info("Planned: %s", dict(sorted(summary.items())))
    return dict(summary)


def _stage_plans(job: SyncJob, plans: list[Planned], summary: Counter[str]) -> None:
    job.stage("transform", "plan", ((f"{p.kind}:{record_key(p.source_id)}", p.to_dict()) for p in plans))
    summary.update(f"{p.kind}.{p.action}" for p in plans)


def _plan_invoices(job: SyncJob, invoices: list[dict[str, Any]], item_names: dict[str, str]) -> list[Planned]:
    ids = [str(i["id"]) for i in invoices]
    invoice_map = job.store.get_mappings(job.company, "invoice", ids)
    written_off = job.store.get_mappings(job.company, "bad_debt_payment", ids)
    frame = lines_frame(invoices, job.settings)
    lines_by_invoice = group_lines(frame)
    if not frame.empty:
        item_names.update(zip(frame["item_key"], frame["item_name"], strict=True))
    plans: list[Planned] = []
    for invoice in invoices:
        mapped = invoice_map.get(str(invoice["id"]))
        plan = plan_invoice(
            invoice,
            lines_by_invoice.get(str(invoice["id"]), []),
            job.settings,
            mapped.content_hash if mapped else None,
            mapped.origin if mapped else None,
        )
        plans.append(plan)
        if plan.action in {"create", "update", "unchanged"} or (mapped and mapped.origin == ORIGIN_INVOICED):
            bad_debt = plan_bad_debt(invoice, job.settings)
            if bad_debt is not None and plan.action != "skip":
                if bad_debt.source_id in written_off:
                    bad_debt.action = "unchanged"  # written off exactly once
                plans.append(bad_debt)
    return plans


def _plan_payments(job: SyncJob, payments: list[dict[str, Any]], briefs: dict[str, dict[str, Any]]) -> list[Planned]:
    payment_map = job.store.get_mappings(job.company, "payment", [str(p["id"]) for p in payments])
    plans = []
    for payment in payments:
        mapped = payment_map.get(str(payment["id"]))
        applied = {str(s.get("invoice")) for s in payment.get("applied_to") or [] if s.get("type") == "invoice"}
        from_quickbooks = (mapped is not None and mapped.origin == ORIGIN_QUICKBOOKS) or recorded_from_quickbooks(
            payment
        )
        plans.append(
            plan_payment(
                payment,
                {i: briefs.get(i) for i in applied},
                job.settings,
                mapped.content_hash if mapped else None,
                from_quickbooks=from_quickbooks,
            )
        )
    return plans


# -- load -----------------------------------------------------------------------------------


def load(job: SyncJob) -> dict[str, dict[str, int]]:
    """Write the plan to QBO. Holds the company's write lease so qbo_import waits."""
    if job.dry_run:
        for _, payload in job.staged("transform", "plan"):
            job.count(payload["kind"], f"would_{payload['action']}")
        job.stage("load", "counts", [("counts", job.counts_dict())])
        return job.counts_dict()
    assert job.qbo is not None
    with job.store.lease(job.company, "writes", job.run_key, LEASE_TTL):
        settled = replay_journal(job.store, job.qbo, job.company, FLOW, job.run_id)
        if settled:
            log.warning("Settled %d records of interrupted batches before this run's writes", len(settled))
        Loader(job, settled).run()
        cursors = dict(next(iter(job.staged("extract", "meta")), ("", {}))[1])
        for name, value in cursors.items():
            job.store.set_cursor(job.company, f"{FLOW}.{name}", str(value))
    job.stage("load", "counts", [("counts", job.counts_dict())])
    return job.counts_dict()


# -- report ---------------------------------------------------------------------------------


class SyncFailed(RecordsFailed):
    """Some records could not be synced; the message lists them."""


def report(job: SyncJob) -> str:
    """Record the run and raise if any record of it failed."""
    return close_run(job, FLOW, "synced", SyncFailed)
