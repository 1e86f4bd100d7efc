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
from typing import Any

from accounting_sync.cursor import Cursor
from accounting_sync.invoiced import InvoicedClient, InvoicedError
from accounting_sync.job import LEASE_TTL, SYNC_FLOW, SyncJob, record_key
from accounting_sync.qbo_loader import Loader
from accounting_sync.qbo_writer import replay_journal
from accounting_sync.report import RecordsFailed, close_run
from accounting_sync.state import ORIGIN_INVOICED
from accounting_sync.transform import (
    Planned,
    group_lines,
    lines_frame,
    plan_bad_debt,
    plan_invoice,
    plan_payment,
)

log = logging.getLogger(__name__)

FLOW = SYNC_FLOW
INVOICE_INCLUDE = "voided,date_voided,date_bad_debt,amount_written_off,amount_paid,amount_credited"
CURSORS = ("invoices", "payments", "customers")
FETCH_ONE_BY_ONE = 50


# -- extract --------------------------------------------------------------------------------


def extract(job: SyncJob, full_resync: bool = False, since: str | None = None) -> dict[str, int]:
    """Stage every Invoiced record this run has to look at."""
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
    invoices = _read_stream(job, "/invoices", cursors["invoices"], INVOICE_INCLUDE) if "invoices" in cursors else {}
    for invoice_id in job.store.unresolved_source_ids(job.company, FLOW, "invoice") - invoices.keys():
        fetched = _fetch(job.invoiced, f"/invoices/{invoice_id}", {"include": INVOICE_INCLUDE})
        if fetched:
            invoices[invoice_id] = fetched

    payments = _read_stream(job, "/payments", cursors["payments"], "applied_to") if "payments" in cursors else {}
    for payment_id in job.store.unresolved_source_ids(job.company, FLOW, "payment") - payments.keys():
        fetched = _fetch(job.invoiced, f"/payments/{payment_id}", {"include": "applied_to"})
        if fetched:
            payments[payment_id] = fetched

    # Invoices that payments apply to and that this run has not seen: their date decides
    # whether the payment is before the sync start date.
    applied = {
        str(split["invoice"])
        for payment in payments.values()
        for split in payment.get("applied_to") or []
        if split.get("type") == "invoice" and split.get("invoice") is not None
    }
    known = set(job.store.get_mappings(job.company, "invoice", applied - invoices.keys()))
    for invoice_id in sorted(applied - invoices.keys() - known):
        fetched = _fetch(job.invoiced, f"/invoices/{invoice_id}", {"include": INVOICE_INCLUDE})
        if fetched:
            invoices[invoice_id] = fetched

    customers = _extract_customers(job, invoices, payments, cursors["customers"])

    counts = {
        "invoices": job.stage("extract", "invoice", ((record_key(k), v) for k, v in invoices.items())),
        "payments": job.stage("extract", "payment", ((record_key(k), v) for k, v in payments.items())),
        "customers": job.stage("extract", "customer", ((record_key(k), v) for k, v in customers.items())),
    }
    job.stage("extract", "meta", [("cursors", {name: cursor.next_value() for name, cursor in cursors.items()})])
    log.info("Extracted from Invoiced: %s", counts)
    return counts


def _read_stream(job: SyncJob, path: str, cursor: Cursor, include: str) -> dict[str, dict[str, Any]]:
    """Records changed after the cursor, streamed page by page, de-duplicated by id."""
    records: dict[str, dict[str, Any]] = {}
    params = {"include": include, **cursor.params()} if include else cursor.params()
    for record in job.invoiced.iter_list(path, params):
        records[str(record["id"])] = record
        cursor.observe(record)
    cursor.server_time = job.invoiced.list_started_at
    return records


def _fetch(client: InvoicedClient, path: str, params: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return dict(client.get(path, params))
    except InvoicedError as error:
        if error.status == 404:
            return None
        raise


def _extract_customers(
    job: SyncJob, invoices: dict[str, dict[str, Any]], payments: dict[str, dict[str, Any]], cursor: Cursor
) -> dict[str, dict[str, Any]]:
    """Customers changed since the cursor, plus the unmapped ones the records refer to
    (one GET each when they are few, else one streamed list of every customer)."""
    referenced = {
        str(record["customer"])
        for record in [*invoices.values(), *payments.values()]
        if record.get("customer") not in (None, "")
    }
    missing = referenced - set(job.store.get_mappings(job.company, "customer", referenced))
    if cursor.start is not None and len(missing) > FETCH_ONE_BY_ONE:
        every = Cursor(cursor.name, None, cursor.overlap)
        changed_or_missing = _read_stream(job, "/customers", every, "")
        customers = {
            cid: c for cid, c in changed_or_missing.items()
            if cid in missing or int(c.get("updated_at") or 0) > cursor.start
        }
        cursor.server_time, cursor.newest_seen = every.server_time, every.newest_seen
    else:
        customers = _read_stream(job, "/customers", cursor, "")
    for customer_id in sorted(missing - customers.keys()):
        fetched = _fetch(job.invoiced, f"/customers/{customer_id}", {})
        if fetched:
            customers[customer_id] = fetched
    return customers


# -- transform ------------------------------------------------------------------------------


def transform(job: SyncJob) -> dict[str, int]:
    """Plan every write; the plan is staged for the load step."""
    invoices = [payload for _, payload in job.staged("extract", "invoice")]
    payments = [payload for _, payload in job.staged("extract", "payment")]
    invoice_map = job.store.get_mappings(job.company, "invoice", [str(i["id"]) for i in invoices])
    frame = lines_frame(invoices, job.settings)
    lines_by_invoice = group_lines(frame)
    item_names = dict(zip(frame["item_key"], frame["item_name"], strict=True)) if not frame.empty else {}

    written_off = job.store.get_mappings(job.company, "bad_debt_payment", [str(i["id"]) for i in invoices])
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

    by_id = {str(i["id"]): i for i in invoices}
    payment_map = job.store.get_mappings(job.company, "payment", [str(p["id"]) for p in payments])
    for payment in payments:
        mapped = payment_map.get(str(payment["id"]))
        applied = {str(s.get("invoice")) for s in payment.get("applied_to") or [] if s.get("type") == "invoice"}
        plans.append(
            plan_payment(
                payment, {i: by_id.get(i) for i in applied}, job.settings, mapped.content_hash if mapped else None
            )
        )

    job.stage("transform", "plan", ((f"{p.kind}:{record_key(p.source_id)}", p.to_dict()) for p in plans))
    job.stage("transform", "items", [("names", item_names)])
    summary = Counter(f"{p.kind}.{p.action}" for p in plans)
    log.info("Planned: %s", dict(sorted(summary.items())))
    return dict(summary)


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
        replayed = replay_journal(job.store, job.qbo, job.company, FLOW, job.run_id)
        if replayed:
            log.warning("Replayed %d unconfirmed batches before this run's writes", replayed)
        Loader(job).run()
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
