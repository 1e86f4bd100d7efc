"""The tie-out step of both DAGs: after load, before report, compare every linked
invoice, payment and credit memo on both sides and record, in money, where the books
differ and why.

Frugal in QuickBooks reads (Intuit meters them; ``tie_out.reading``): an incremental
tie-out reads what QuickBooks changed since the last tie-out (which includes everything
this run wrote) in one change-data-capture read, and the invoices the run touched that
did not change there; a full one, daily or on demand, reads every invoice, credit memo
and customer once, in pages of 1000, and only the payments those do not vouch for
(``tie_out.payments``). Invoiced, which does not meter reads, is read from the run's own
stage where it can (``tie_out.books``).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from accounting_sync.common.flows import SYNC
from accounting_sync.common.job import SyncJob
from accounting_sync.common.runtime import sync_job
from accounting_sync.common.values import aware, money, utcnow
from accounting_sync.quickbooks.client import QuickBooksClient
from accounting_sync.store.idmap import INVOICE_TYPES, ORIGIN_INVOICED
from accounting_sync.store.schema import TieOutRecord
from accounting_sync.tie_out.books import Books, charged_tax, slim_invoice
from accounting_sync.tie_out.compare import (
    CustomerBalance,
    Pair,
    TieOut,
    agrees,
    difference,
    expected_in_qbo,
    in_qbo,
    on_invoiced,
)
from accounting_sync.tie_out.payments import tie_out_payments
from accounting_sync.tie_out.reading import QboSide

log = logging.getLogger(__name__)


def tie_out(job: SyncJob, full: bool = False) -> TieOut:
    """Compare the linked records, record the result with the run, and return it."""
    assert job.qbo is not None
    started = utcnow()
    last = job.store.last_tie_out(job.company)
    last_full = job.store.last_tie_out(job.company, full=True)
    full = full or last_full is None or started - (aware(last_full.started_at) or started) >= timedelta(
        hours=job.settings.full_tie_out_every_hours
    )
    since = None if full or last is None else _next_start(last) - timedelta(seconds=job.settings.cursor_overlap_seconds)
    reads = _reads(job.qbo)
    books = Books(job)
    with ThreadPoolExecutor(1, thread_name_prefix="invoiced-listing") as pool:
        # a full tie-out lists every Invoiced invoice too: while QuickBooks answers, not after
        listing = pool.submit(books.invoices, None) if since is None else None
        side = books.read_qbo(since)
        every = listing.result() if listing is not None else None
    result = TieOut(full=full)
    invoices, pairs = linked_invoices(books, result, side, every)
    memo_gaps = credit_memos(books, result, side, since is None)
    if since is None:
        customer_balances(books, result, invoices, side.rows["Invoice"], pairs, memo_gaps)
    tie_out_payments(books, result, side, since is None)  # after the documents and customers that vouch for them
    result.qbo_reads = _reads(job.qbo) - reads
    summary = result.summary()
    recorded = {**result.as_json(), "qbo_clock": side.clock.isoformat() if side.clock else None}
    job.store.save_tie_out(job.company, job.dag_id, job.run_id, started, full, recorded, summary, len(result.unexplained))
    log.info("%s", summary)
    for diff in result.differences:
        log.warning(
            "%s %s: Invoiced %s, QuickBooks %s: %s (%s)",
            "UNEXPLAINED" if diff.unexplained else "Differs",
            diff.number, diff.invoiced, diff.qbo, diff.explanation, diff.detail,
        )
    return result


def linked_invoices(
    books: Books, result: TieOut, side: QboSide, every: dict[str, dict[str, Any]] | None
) -> tuple[dict[str, dict[str, Any]], list[Pair]]:
    """Each linked invoice: all of them (``every``: all Invoiced invoices, already read),
    else those QuickBooks changed or deleted and those the run touched. Returns the
    Invoiced invoices read and the pairs."""
    rows, deleted = side.rows["Invoice"], side.deleted.get("Invoice", set())
    wanted = set(books.mappings) if every is not None else {books.by_qbo[q].invoiced_id for q in rows.keys() | deleted
                                                            if q in books.by_qbo}
    invoices = every if every is not None else books.invoices(wanted)
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
            result.differences.append(difference(books.explained(pair, invoice, row)))
    return invoices, pairs


def credit_memos(books: Books, result: TieOut, side: QboSide, every: bool) -> dict[str, Decimal]:
    """Each credit memo the sync wrote for an Invoiced credit note: its total and the credit
    it has left against the credit note's total and balance (none, once voided: the memo is
    deleted). All of them (``every``), else those QBO changed or deleted. Returns what the
    differing ones add to each Invoiced customer's balance in QuickBooks (less credit left)."""
    mapped = {q: m for q, m in books.memos.items() if m.origin == ORIGIN_INVOICED}
    rows, deleted = side.rows.get("CreditMemo", {}), side.deleted.get("CreditMemo", set())
    wanted = {m.invoiced_id for q, m in mapped.items() if every or q in rows.keys() | deleted}
    gaps: dict[str, Decimal] = {}
    if not wanted:
        return gaps
    notes = books.documents("/credit_notes", wanted, books.staged("credit_note", slim_invoice), slim_invoice, {})
    for qbo_id, mapping in sorted(mapped.items()):
        note = notes.get(mapping.invoiced_id)
        if note is None:
            continue
        row = rows.get(qbo_id)
        pair = Pair(
            invoiced_id=mapping.invoiced_id, qbo_id=qbo_id, number=f"credit note {note.get('number') or mapping.invoiced_id}",
            mastered_by="invoiced", invoiced=replace(on_invoiced(note), tax=charged_tax(note)),
            qbo=replace(in_qbo(row, None), open=money(row.get("RemainingCredit") or 0), currency=None) if row else None,
            qbo_changed=row is not None and int(row.get("SyncToken") or 0) > int(mapping.sync_token or 0),
            pending=books.pending(SYNC.name, "credit_note", mapping.invoiced_id), object_type="credit_note",
        )
        result.credit_memos += 1
        if not agrees(pair):
            result.differences.append(difference(pair))
            customer = str(note.get("customer"))
            gaps[customer] = gaps.get(customer, Decimal(0)) + pair.invoiced.open - (pair.qbo.open if pair.qbo else 0)
    return gaps


def customer_balances(
    books: Books, result: TieOut, invoices: dict[str, dict[str, Any]], rows: dict[str, dict[str, Any]],
    pairs: list[Pair], memo_gaps: dict[str, Decimal],
) -> None:
    """Per QBO customer (grouping the Invoiced customers merged into it): Invoiced's open
    invoices less its credit against QuickBooks' Customer.Balance, and the company's A/R on
    both sides. Only the part the invoice and credit memo lines do not explain is listed
    (``memo_gaps``: by Invoiced customer, from ``credit_memos``)."""
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
            groups[qbo_id].linked += memo_gaps.get(invoiced_id, Decimal("0.00"))
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


def _reads(client: QuickBooksClient) -> int:
    """What Intuit meters: queries, reads by id, change-data-capture reads."""
    return client.calls["query"] + client.calls["read"] + client.calls["cdc"]



