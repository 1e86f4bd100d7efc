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
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from accounting_sync.common.flows import IMPORT, SYNC
from accounting_sync.common.job import SyncJob
from accounting_sync.common.runtime import sync_job
from accounting_sync.common.values import aware, money, utcnow
from accounting_sync.qbo_sync.extract import INVOICE_INCLUDE
from accounting_sync.quickbooks.client import QuickBooksClient, rows_by_id
from accounting_sync.store.idmap import (
    APPLIED_TYPES,
    INVOICE_TYPES,
    ORIGIN_INVOICED,
    ORIGIN_QUICKBOOKS,
    MappedRecord,
)
from accounting_sync.store.schema import TieOutRecord
from accounting_sync.tie_out.compare import (
    Amounts,
    CustomerBalance,
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
LISTED = {"include": INVOICE_INCLUDE, "exclude": "items"}  # the lines are not compared
MEMO_FIELDS = ("Id", "DocNumber", "TotalAmt", "RemainingCredit", "SyncToken")
QBO_FIELDS = ("Id", "DocNumber", "TotalAmt", "Balance", "CurrencyRef", "SyncToken", "CustomerRef", "LinkedTxn")
INVOICED_FIELDS = ("id", "number", "customer", "currency", "total", "balance", "status", "closed", "paid", "voided",
                   "draft")
"""What a tie-out keeps of each record: 100,000 of them in full would not fit a worker."""


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
        self.qbo_clock: datetime | None = None

    def _clock(self, moment: datetime | None) -> None:
        """QBO's clock when the read began: where the next incremental tie-out starts."""
        self.qbo_clock = moment

    # -- reading ------------------------------------------------------------------------

    def qbo_rows(self, since: str | None, touched: set[str]) -> dict[str, dict[str, Any]]:
        """QBO invoice rows: every one (``since`` None: a full tie-out), or those changed
        since ``since`` plus the ``touched`` QBO ids that did not change."""
        if since is None:
            return {str(row["Id"]): _slim(row, QBO_FIELDS) for row in self.qbo.query_rows("Invoice", began=self._clock)}
        rows = self.qbo.query_rows("Invoice", f"MetaData.LastUpdatedTime >= '{since}'", began=self._clock)
        found = {str(row["Id"]): _slim(row, QBO_FIELDS) for row in rows if str(row["Id"]) in self.by_qbo}
        found.update({str(r["Id"]): _slim(r, QBO_FIELDS) for r in rows_by_id(self.qbo, "Invoice", touched - found.keys())})
        return found

    def invoiced(self, ids: set[str] | None, staged: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Invoiced invoices by id (every one with ``None``): the run's own copies first, then read."""
        listing = ({str(i["id"]): _slim(i, INVOICED_FIELDS) for i in self.job.invoiced.iter_list("/invoices", LISTED)}
                   if ids is None or len(ids - staged.keys()) > ONE_BY_ONE else {})
        if ids is None:
            return listing
        found = {i: _slim(staged[i], INVOICED_FIELDS) for i in ids & staged.keys()}
        for invoice_id in sorted(ids - found.keys()):
            found[invoice_id] = listing.get(invoice_id) or _slim(
                self.job.invoiced.get(f"/invoices/{invoice_id}", {"include": INVOICE_INCLUDE}), INVOICED_FIELDS
            )
        return found

    # -- explaining ---------------------------------------------------------------------

    def pair(self, mapping: MappedRecord, invoice: dict[str, Any], row: dict[str, Any] | None) -> Pair:
        mastered_by = "quickbooks" if mapping.origin == ORIGIN_QUICKBOOKS else "invoiced"
        flow, source = (IMPORT.name, mapping.qbo_id) if mastered_by == "quickbooks" else (SYNC.name, mapping.invoiced_id)
        pending = self.pending(flow, "invoice", source)
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
        links = [(str(link.get("TxnType")), str(link["TxnId"])) for link in row.get("LinkedTxn") or []]
        linked = {txn_id for txn_type, txn_id in links if txn_type == "Payment"}
        unknown = set()
        for txn_type, types in APPLIED_TYPES.items():
            ids = {txn_id for kind, txn_id in links if kind == txn_type}
            unknown |= {f"{txn_type} {i}" for i in ids - self.job.store.known_qbo_ids(self.job.company, ids, types)}
        payments = self._payments_applied(invoice)
        mapped = self.job.store.get_mappings(self.job.company, "payment", [str(p["id"]) for p in payments])
        pending = next(
            (
                f"payment {p.get('reference') or p['id']}: {reason}"
                for p in payments
                if str(p["id"]) not in mapped and (reason := self.pending(SYNC.name, "payment", str(p["id"])) or "waiting")
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
            "unknown_links": tuple(f"QuickBooks {link}" for link in sorted(unknown)),
            "missing_payments": missing,
        })

    def pending(self, flow: str, object_type: str, source_id: str) -> str | None:
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
    since = None if full or last is None else _iso(_next_start(last) - timedelta(seconds=job.settings.cursor_overlap_seconds))
    reads = _reads(job.qbo)
    books = Books(job)
    staged = _staged_invoices(job)
    touched = {books.mappings[i].qbo_id for i in staged if i in books.mappings}
    rows = books.qbo_rows(since, touched)
    wanted = {books.by_qbo[q].invoiced_id for q in rows if q in books.by_qbo} | (set(books.mappings) if full else set())
    invoices = books.invoiced(None if full else wanted, staged)
    result = TieOut(full=full)
    pairs = []
    for invoiced_id in sorted(wanted & invoices.keys(), key=lambda i: (len(i), i)):
        mapping, invoice = books.mappings[invoiced_id], invoices[invoiced_id]
        row = rows.get(mapping.qbo_id)
        pair = books.pair(mapping, invoice, row)
        pairs.append(pair)
        result.checked += 1
        result.open_invoiced += pair.invoiced.open
        result.open_qbo += pair.qbo.open if pair.qbo else 0
        if not agrees(pair):
            result.differences.append(difference(books.with_payments(pair, invoice, row)))
    credit_memos(books, result, since)
    if full:
        customer_balances(books, result, invoices, rows, pairs)
    result.qbo_reads = _reads(job.qbo) - reads
    summary = result.summary()
    recorded = {**result.as_json(), "qbo_clock": books.qbo_clock.isoformat() if books.qbo_clock else None}
    job.store.save_tie_out(job.company, job.dag_id, job.run_id, started, full, recorded, summary, len(result.unexplained))
    log.info("%s", summary)
    for diff in result.differences:
        log.warning(
            "%s %s: Invoiced %s, QuickBooks %s: %s (%s)",
            "UNEXPLAINED" if diff.unexplained else "Differs",
            diff.number, diff.invoiced, diff.qbo, diff.explanation, diff.detail,
        )
    return result


def credit_memos(books: Books, result: TieOut, since: str | None) -> None:
    """Each credit memo the sync wrote for an Invoiced credit note: its total and the credit
    it has left against the credit note's total and balance (none, once voided: the memo is
    deleted). All of them in a full tie-out, those QBO changed since ``since`` otherwise."""
    job = books.job
    mapped = {
        m.qbo_id: m for m in job.store.get_mappings(job.company, "credit_note").values() if m.origin == ORIGIN_INVOICED
    }
    if not mapped:
        return
    where = "" if since is None else f"MetaData.LastUpdatedTime >= '{since}'"
    rows = {str(r["Id"]): _slim(r, MEMO_FIELDS) for r in books.qbo.query_rows("CreditMemo", where) if str(r["Id"]) in mapped}
    wanted = {m.invoiced_id for q, m in mapped.items() if since is None or q in rows}
    notes = (
        {str(n["id"]): n for n in job.invoiced.iter_list("/credit_notes", {}) if str(n["id"]) in wanted}
        if len(wanted) > ONE_BY_ONE
        else {i: dict(job.invoiced.get(f"/credit_notes/{i}")) for i in sorted(wanted)}
    )
    for qbo_id, mapping in sorted(mapped.items()):
        note = notes.get(mapping.invoiced_id)
        if note is None:
            continue
        row = rows.get(qbo_id)
        pair = Pair(
            invoiced_id=mapping.invoiced_id, qbo_id=qbo_id, number=f"credit note {note.get('number') or mapping.invoiced_id}",
            mastered_by="invoiced", invoiced=on_invoiced(note),
            qbo=Amounts(money(row.get("TotalAmt") or 0), money(row.get("RemainingCredit") or 0), None) if row else None,
            qbo_changed=row is not None and int(row.get("SyncToken") or 0) > int(mapping.sync_token or 0),
            pending=books.pending(SYNC.name, "credit_note", mapping.invoiced_id),
        )
        result.credit_memos += 1
        if not agrees(pair):
            result.differences.append(difference(pair))


def customer_balances(
    books: Books, result: TieOut, invoices: dict[str, dict[str, Any]], rows: dict[str, dict[str, Any]], pairs: list[Pair]
) -> None:
    """Per QBO customer (grouping the Invoiced customers merged into it): Invoiced's open
    invoices less its credit against QuickBooks' Customer.Balance, and the company's A/R on
    both sides. Only the part the invoice lines do not explain is listed."""
    job = books.job
    customers = job.store.get_mappings(job.company, "customer")
    group_of = {invoiced_id: mapping.qbo_id for invoiced_id, mapping in customers.items()}
    wanted = set(group_of.values())
    qbo_customers = {  # pages of 1000: fewer reads than 200 ids a query once there are many
        str(row["Id"]): row
        for row in books.qbo.query_rows("Customer", "Active IN (true, false)")
        if str(row["Id"]) in wanted
    }
    invoiced_customers = {str(c["id"]): c for c in job.invoiced.iter_list("/customers", {})}
    groups = {
        qbo_id: CustomerBalance(
            name=str(row.get("DisplayName") or qbo_id), qbo_id=qbo_id, invoiced_open=Decimal("0.00"),
            qbo_balance=money(row.get("Balance") or 0),
        )
        for qbo_id, row in qbo_customers.items()
    }
    receivable = _spread_invoiced(groups, group_of, invoices, {pair.invoiced_id for pair in pairs})
    for pair in pairs:
        group = groups.get(str((rows.get(pair.qbo_id) or {}).get("CustomerRef", {}).get("value", "")))
        if group is not None:
            group.linked += (pair.qbo.open if pair.qbo else Decimal("0.00")) - pair.invoiced.open
    written = {m.qbo_id for kind in INVOICE_TYPES for m in job.store.get_mappings(job.company, kind).values()}
    for qbo_id, row in rows.items():
        group = groups.get(str(row.get("CustomerRef", {}).get("value", "")))
        if group is not None and qbo_id not in written:
            group.never_written += money(row.get("Balance") or 0)
    credit = _open_credit(job, invoiced_customers)
    for invoiced_id, qbo_id in group_of.items():
        receivable -= credit.get(invoiced_id, Decimal("0.00"))
        if qbo_id in groups:
            groups[qbo_id].credit += credit.get(invoiced_id, Decimal("0.00"))
    result.receivable_invoiced = receivable
    result.receivable_qbo = sum((group.qbo_balance for group in groups.values()), Decimal("0.00"))
    result.differences.extend(d for group in groups.values() if (d := group.difference()) is not None)


def _open_credit(job: SyncJob, customers: dict[str, dict[str, Any]]) -> dict[str, Decimal]:
    """Unapplied credit per Invoiced customer: its credit balance and its issued credit
    notes' open balances (in QuickBooks, unapplied credit memos and payments lower the
    customer's balance the same way)."""
    credit = {cid: money(c.get("credit_balance") or 0) for cid, c in customers.items()}
    for note in job.invoiced.iter_list("/credit_notes", {}):
        if not note.get("draft") and note.get("status") != "voided" and money(note.get("balance") or 0):
            key = str(note.get("customer"))
            credit[key] = credit.get(key, Decimal("0.00")) + money(note["balance"])
    return credit


def _spread_invoiced(
    groups: dict[str, CustomerBalance], group_of: dict[str, str], invoices: dict[str, dict[str, Any]], linked: set[str]
) -> Decimal:
    """Add each issued Invoiced invoice's open amount to its customer's group; the total is
    Invoiced's A/R before credits."""
    receivable = Decimal("0.00")
    for invoice in invoices.values():
        if invoice.get("draft"):
            continue
        open_amount = expected_in_qbo(invoice).open
        receivable += open_amount
        group = groups.get(group_of.get(str(invoice.get("customer")), ""))
        if group is not None:
            group.invoiced_open += open_amount
            group.not_synced += open_amount if str(invoice["id"]) not in linked else Decimal("0.00")
    return receivable


def tie_out_task(company: str, context: dict[str, Any]) -> str:
    """What both DAGs' ``tie_out`` task calls (trigger param ``full_tie_out``)."""
    return tie_out(sync_job(company, context), full=bool(context["params"].get("full_tie_out"))).summary()


def _next_start(last: TieOutRecord) -> datetime:
    """Where the last tie-out's read began, on QBO's clock (ours when QBO did not say):
    QuickBooks stamps its changes with its own clock."""
    stamp = (last.result or {}).get("qbo_clock")
    return aware(datetime.fromisoformat(stamp)) if stamp else aware(last.started_at)


def _staged_invoices(job: SyncJob) -> dict[str, dict[str, Any]]:
    """The Invoiced invoices qbo_sync read this run (qbo_import stages QBO rows instead)."""
    if job.dag_id.split("__")[0] != SYNC.name:
        return {}
    return {str(record["id"]): record for _, record in job.staged("extract", "invoice")}


def _slim(record: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {key: record[key] for key in fields if key in record}


def _reads(client: QuickBooksClient) -> int:
    return client.calls["query"] + client.calls["read"]


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")

