"""The tie-out of payments: each Invoiced payment the id map links, its amount, what it
leaves unapplied and what it applies to each document, against its QBO payment.

Two kinds are linked. A payment qbo_sync wrote (origin ``invoiced``) must show in QBO what
``transform.payment_payload`` made of it (``compare.payment_on_invoiced``): QuickBooks'
lines are named back through the id map (an invoice, a credit memo, the fee invoice of
a convenience fee), so both sides speak of the same documents. A payment qbo_import
recorded on Invoiced (origin ``quickbooks``) stands for what one or more QBO payments
paid on one invoice; the QBO side is what those payments apply to it.

A full tie-out compares every linked payment; an incremental one those whose QBO payment
changed (or was deleted) since the last tie-out, which includes every payment the run
wrote. A payment the run touched that did not change in QuickBooks is not read again:
what QuickBooks must show of it depends only on what its payload is made of, and that
was compared when it was written.
"""

from __future__ import annotations

from typing import Any

from accounting_sync.common.flows import SYNC
from accounting_sync.store.idmap import ORIGIN_QUICKBOOKS, MappedRecord
from accounting_sync.tie_out.books import Books, slim_payment
from accounting_sync.tie_out.compare import (
    Pair,
    TieOut,
    agrees,
    difference,
    imported_in_qbo,
    imported_on_invoiced,
    payment_in_qbo,
    payment_on_invoiced,
)
from accounting_sync.tie_out.reading import QboSide


def tie_out_payments(books: Books, result: TieOut, side: QboSide, full: bool) -> None:
    """Compare the linked payments (see the module) and add what differs to ``result``."""
    job = books.job
    mapped = job.store.get_mappings(job.company, "payment")
    if not mapped:
        return
    rows, deleted = side.rows.get("Payment", {}), side.deleted.get("Payment", set())
    wanted = sorted(
        (m for m in mapped.values() if full or set(qbo_ids(m)) & (rows.keys() | deleted)),
        key=lambda m: (len(m.invoiced_id), m.invoiced_id),
    )
    if not full:  # an imported payment of several QBO payments, only some of them read: the full tie-out has it
        wanted = [m for m in wanted if m.origin != ORIGIN_QUICKBOOKS or set(qbo_ids(m)) <= rows.keys() | deleted]
    ids = None if full else {m.invoiced_id for m in wanted}
    payments = books.documents("/payments", ids, books.staged_payments, slim_payment, {"include": "applied_to"})
    labels = _labels(books, [rows[q] for m in wanted for q in qbo_ids(m) if q in rows])
    for mapping in wanted:
        payment = payments.get(mapping.invoiced_id)
        if payment is None:
            continue  # gone from Invoiced
        pair = _pair(books, mapping, payment, [rows[q] for q in qbo_ids(mapping) if q in rows], labels)
        result.payments += 1
        if not agrees(pair):
            result.differences.append(difference(pair))


def qbo_ids(mapping: MappedRecord) -> list[str]:
    """The QBO payments a mapping stands for: one, or for a payment qbo_import recorded of
    several paid in QuickBooks at once, their comma-separated list."""
    return [part for part in mapping.qbo_id.split(",") if part]


def _pair(
    books: Books, mapping: MappedRecord, payment: dict[str, Any], rows: list[dict[str, Any]],
    labels: dict[tuple[str, str], str],
) -> Pair:
    number = f"payment {payment.get('reference') or mapping.invoiced_id}"
    if mapping.origin == ORIGIN_QUICKBOOKS:
        invoiced = imported_on_invoiced(payment)
        return Pair(
            mapping.invoiced_id, mapping.qbo_id, number, "quickbooks", invoiced,
            imported_in_qbo(rows, labels, invoiced) if rows else None,
            # qbo_import keeps no SyncToken of what it records: a QBO payment edited since it was made counts as edited
            qbo_changed=any(int(row.get("SyncToken") or 0) > 0 for row in rows), object_type="payment",
        )
    return Pair(
        mapping.invoiced_id, mapping.qbo_id, number, "invoiced", payment_on_invoiced(payment, books.mappings, books.notes),
        payment_in_qbo(rows[0], labels) if rows else None,
        qbo_changed=bool(rows) and int(rows[0].get("SyncToken") or 0) > int(mapping.sync_token or 0),
        pending=books.pending(SYNC.name, "payment", mapping.invoiced_id), object_type="payment",
    )


def _labels(books: Books, rows: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(TxnType, TxnId) of what these QBO payments apply -> the Invoiced document, named as
    ``compare.payment_on_invoiced`` names it: an invoice, the fee invoice of a payment's
    convenience fee, a credit note."""
    job = books.job
    links = {(str(link.get("TxnType")), str(link.get("TxnId")))
             for row in rows for line in row.get("Line") or [] for link in line.get("LinkedTxn") or []}
    invoices = {txn_id for txn_type, txn_id in links if txn_type == "Invoice"}
    labels = {("Invoice", q): f"invoice {books.by_qbo[q].invoiced_id}" for q in invoices if q in books.by_qbo}
    fees = job.store.find_by_qbo_id(job.company, "fee", invoices - books.by_qbo.keys())
    labels.update({("Invoice", q): f"convenience fee {m.invoiced_id}" for q, m in fees.items()})
    labels.update({("CreditMemo", q): f"credit note {books.memos[q].invoiced_id}"
                   for txn_type, q in links if txn_type == "CreditMemo" and q in books.memos})
    return labels


