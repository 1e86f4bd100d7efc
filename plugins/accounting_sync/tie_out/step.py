"""The tie-out step of both DAGs: after load, before report, compare every linked invoice
on both sides and record, in money, where the books differ and why.

Frugal in QuickBooks reads (Intuit meters them): QuickBooks is read in pages of 1000
(``SELECT * FROM Invoice``), never one GET per record. An incremental tie-out reads what
QuickBooks changed since the last tie-out (which includes everything this run wrote) and
the invoices the run touched that did not change there; a full one, daily or on demand,
reads every invoice once. Invoiced, which does not meter reads, is read from the run's
own stage where it can, else one invoice at a time for a few, else in pages.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from accounting_sync.common.flows import IMPORT, SYNC
from accounting_sync.common.job import SyncJob
from accounting_sync.common.runtime import sync_job
from accounting_sync.common.values import aware, utcnow
from accounting_sync.qbo_sync.extract import INVOICE_INCLUDE
from accounting_sync.quickbooks.client import QuickBooksClient, rows_by_id
from accounting_sync.store.idmap import ORIGIN_QUICKBOOKS, MappedRecord
from accounting_sync.tie_out.compare import (
    Pair,
    TieOut,
    agrees,
    difference,
    expected_in_qbo,
    in_qbo,
    on_invoiced,
)

log = logging.getLogger(__name__)

ONE_BY_ONE = 50  # more Invoiced invoices than this are read in pages instead
NAME_LISTS = ("invoice", "customer", "item")  # id map types that are never applied to an invoice


class Books:
    """What one tie-out reads: the linked invoices on both sides, and the failing or
    ignored records that explain a difference."""

    def __init__(self, job: SyncJob) -> None:
        assert job.qbo is not None
        self.job, self.qbo = job, job.qbo
        self.mappings = job.store.get_mappings(job.company, "invoice")
        self.by_qbo = {m.qbo_id: m for m in self.mappings.values()}
        self.failing = {
            (e.flow, e.object_type, e.source_id): e.message for e in job.store.open_errors(job.company)
        }
        self.ignored = set(job.store.ignored_records(job.company))

    # -- reading ------------------------------------------------------------------------

    def qbo_rows(self, full: bool, since: str | None, touched: set[str]) -> dict[str, dict[str, Any]]:
        """QBO rows of linked invoices: all of them, or those changed since ``since`` plus
        the ``touched`` QBO ids that did not change."""
        if full or since is None:
            rows = self.qbo.query_rows("Invoice")
        else:
            rows = self.qbo.query_rows("Invoice", f"MetaData.LastUpdatedTime >= '{since}'")
        found = {str(row["Id"]): row for row in rows if str(row["Id"]) in self.by_qbo}
        if not full and since is not None:
            found.update({str(r["Id"]): r for r in rows_by_id(self.qbo, "Invoice", touched - found.keys())})
        return found

    def invoiced(self, ids: set[str], staged: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Invoiced invoices by id: the run's own copies first, then read."""
        found = {i: staged[i] for i in ids & staged.keys()}
        missing = ids - found.keys()
        if len(missing) > ONE_BY_ONE:
            listing = self.job.invoiced.iter_list("/invoices", {"include": INVOICE_INCLUDE})
            found.update({str(i["id"]): i for i in listing if str(i["id"]) in missing})
        else:
            for invoice_id in sorted(missing):
                found[invoice_id] = dict(self.job.invoiced.get(f"/invoices/{invoice_id}", {"include": INVOICE_INCLUDE}))
        return found

    # -- explaining ---------------------------------------------------------------------

    def pair(self, mapping: MappedRecord, invoice: dict[str, Any], row: dict[str, Any] | None) -> Pair:
        mastered_by = "quickbooks" if mapping.origin == ORIGIN_QUICKBOOKS else "invoiced"
        flow, source = (IMPORT.name, mapping.qbo_id) if mastered_by == "quickbooks" else (SYNC.name, mapping.invoiced_id)
        pending = self._pending(flow, "invoice", source)
        token = int(row["SyncToken"]) if row else 0
        return Pair(
            invoiced_id=mapping.invoiced_id,
            qbo_id=mapping.qbo_id,
            number=str(invoice.get("number") or (row or {}).get("DocNumber") or mapping.invoiced_id),
            mastered_by=mastered_by,
            invoiced=on_invoiced(invoice) if mastered_by == "quickbooks" else expected_in_qbo(invoice),
            qbo=in_qbo(row, None) if row else None,
            qbo_changed=row is not None and token > int(mapping.sync_token or 0),
            pending=pending,
        )

    def with_payments(self, pair: Pair, invoice: dict[str, Any], row: dict[str, Any] | None) -> Pair:
        """A differing invoice Invoiced masters: what was applied to it on each side."""
        if pair.pending or pair.mastered_by != "invoiced" or row is None:
            return pair
        linked = {str(link["TxnId"]) for link in row.get("LinkedTxn") or [] if link.get("TxnType") in {"Payment", "CreditMemo"}}
        unknown = linked - self.job.store.known_qbo_ids(self.job.company, linked, besides=NAME_LISTS)
        payments = self._payments_applied(invoice)
        mapped = self.job.store.get_mappings(self.job.company, "payment", [str(p["id"]) for p in payments])
        pending = next(
            (
                f"payment {p.get('reference') or p['id']}: {reason}"
                for p in payments
                if str(p["id"]) not in mapped and (reason := self._pending(SYNC.name, "payment", str(p["id"])) or "waiting")
            ),
            None,
        )
        missing = tuple(
            f"payment {p.get('reference') or p['id']} (QuickBooks payment {mapped[str(p['id'])].qbo_id})"
            for p in payments
            if str(p["id"]) in mapped and mapped[str(p["id"])].qbo_id not in linked
        )
        return Pair(**{
            **pair.__dict__,
            "pending": pending,
            "unknown_links": tuple(f"QuickBooks transaction {i}" for i in sorted(unknown)),
            "missing_payments": missing,
        })

    def _pending(self, flow: str, object_type: str, source_id: str) -> str | None:
        if (flow, object_type, source_id) in self.ignored:
            return "ignored on the Accounting Sync page"
        message = self.failing.get((flow, object_type, source_id))
        return f"failed: {message}" if message else None

    def _payments_applied(self, invoice: dict[str, Any]) -> list[dict[str, Any]]:
        """The customer's Invoiced payments (not voided) that apply to this invoice."""
        listing = self.job.invoiced.iter_list(
            "/payments", {"filter[customer]": invoice.get("customer"), "include": "applied_to"}
        )
        return [
            payment
            for payment in listing
            if not payment.get("voided")
            and any(
                split.get("type") == "invoice" and str(split.get("invoice")) == str(invoice["id"])
                for split in payment.get("applied_to") or []
            )
        ]


def tie_out(job: SyncJob, full: bool = False) -> TieOut:
    """Compare the linked invoices, record the result with the run, and return it."""
    assert job.qbo is not None
    started = utcnow()
    last = job.store.last_tie_out(job.company)
    last_full = job.store.last_tie_out(job.company, full=True)
    full = full or last_full is None or started - (aware(last_full.started_at) or started) >= timedelta(
        hours=job.settings.full_tie_out_every_hours
    )
    since = None if full or last is None else _iso((aware(last.started_at) or started) - timedelta(seconds=job.settings.cursor_overlap_seconds))
    reads = _reads(job.qbo)
    books = Books(job)
    staged = _staged_invoices(job)
    touched = {books.mappings[i].qbo_id for i in staged if i in books.mappings}
    rows = books.qbo_rows(full, since, touched)
    wanted = {books.by_qbo[q].invoiced_id for q in rows} | (set(books.mappings) if full else set())
    invoices = books.invoiced(wanted, staged)
    result = TieOut(full=full)
    for invoiced_id in sorted(wanted & invoices.keys(), key=lambda i: (len(i), i)):
        mapping, invoice = books.mappings[invoiced_id], invoices[invoiced_id]
        row = rows.get(mapping.qbo_id)
        pair = books.pair(mapping, invoice, row)
        result.checked += 1
        result.open_invoiced += pair.invoiced.open
        result.open_qbo += pair.qbo.open if pair.qbo else 0
        if not agrees(pair):
            result.differences.append(difference(books.with_payments(pair, invoice, row)))
    result.qbo_reads = _reads(job.qbo) - reads
    summary = result.summary()
    job.store.save_tie_out(
        job.company, job.dag_id, job.run_id, started, full, result.as_json(), summary, len(result.unexplained)
    )
    log.info("%s", summary)
    for diff in result.differences:
        log.warning(
            "%s %s: Invoiced %s, QuickBooks %s: %s (%s)",
            "UNEXPLAINED" if diff.unexplained else "Differs",
            diff.number, diff.invoiced, diff.qbo, diff.explanation, diff.detail,
        )
    return result


def tie_out_task(company: str, context: dict[str, Any]) -> str:
    """What both DAGs' ``tie_out`` task calls (trigger param ``full_tie_out``)."""
    return tie_out(sync_job(company, context), full=bool(context["params"].get("full_tie_out"))).summary()


def _staged_invoices(job: SyncJob) -> dict[str, dict[str, Any]]:
    """The Invoiced invoices qbo_sync read this run (qbo_import stages QBO rows instead)."""
    if job.dag_id.split("__")[0] != SYNC.name:
        return {}
    return {str(record["id"]): record for _, record in job.staged("extract", "invoice")}


def _reads(client: QuickBooksClient) -> int:
    return client.calls["query"] + client.calls["read"]


def _iso(moment: Any) -> str:
    return moment.isoformat(timespec="seconds")

