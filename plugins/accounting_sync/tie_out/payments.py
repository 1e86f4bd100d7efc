"""The tie-out of payments: each Invoiced payment the id map links, its amount, what it
leaves unapplied and what it applies to each document, against its QBO payment.

Two kinds are linked. A payment qbo_sync wrote (origin ``invoiced``) must show in QBO what
``transform.payment_payload`` made of it (``compare.payment_on_invoiced``): QuickBooks'
lines are named back through the id map (an invoice, a credit memo, the fee invoice of
a convenience fee), so both sides speak of the same documents. A payment qbo_import
recorded on Invoiced (origin ``quickbooks``) stands for what one or more QBO payments
paid on one invoice; the QBO side is what those payments apply to it.

An incremental tie-out compares the payments whose QBO payment changed (or was deleted)
since the last tie-out, which includes every payment the run wrote; QuickBooks bumps a
payment's SyncToken on every edit, so nothing else can have moved there. A payment the
run touched that did not change in QuickBooks is not read again: what QuickBooks must
show of it depends only on what its payload is made of, and that was compared when it
was written.

A full tie-out checks every linked payment without reading every payment row, which at
one page per 1,000 payments would cost more reads than the invoices themselves. QBO's
invoices, read anyway, list the payments applied to them (``LinkedTxn``). A payment is
*witnessed* when QuickBooks applies it to exactly the invoices Invoiced applies it to,
every one of which agrees in total and open balance, and its customer's balance agrees
too: then the money it moved agrees on both sides (its applications sum to what those
invoices have paid, what it leaves unapplied is in the customer's balance). The others,
and any that also spend a credit note, are read by id (200 to a read) and compared line
by line.
"""

from __future__ import annotations

from typing import Any

from accounting_sync.common.flows import SYNC
from accounting_sync.quickbooks.client import rows_by_id
from accounting_sync.store.idmap import ORIGIN_QUICKBOOKS, MappedRecord
from accounting_sync.tie_out.books import Books, slim_payment
from accounting_sync.tie_out.compare import (
    Amounts,
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
    expected = {m.invoiced_id: _expected(books, m, payments[m.invoiced_id]) for m in wanted if m.invoiced_id in payments}
    if full:
        witnessed = Witness(books, result, side).witnessed(wanted, payments, expected)
        result.payments += len(witnessed)
        wanted = [m for m in wanted if m.invoiced_id not in witnessed]
        side.take("Payment", rows_by_id(books.qbo, "Payment", {q for m in wanted for q in qbo_ids(m)}))
        rows = side.rows["Payment"]
    labels = _labels(books, [rows[q] for m in wanted for q in qbo_ids(m) if q in rows])
    for mapping in wanted:
        if mapping.invoiced_id not in expected:
            continue  # gone from Invoiced
        pair = _pair(books, mapping, payments[mapping.invoiced_id], expected[mapping.invoiced_id],
                     [rows[q] for q in qbo_ids(mapping) if q in rows], labels)
        result.payments += 1
        if not agrees(pair):
            result.differences.append(difference(pair))


class Witness:
    """What a full tie-out already knows of the payments from QBO's invoices (see the module)."""

    def __init__(self, books: Books, result: TieOut, side: QboSide) -> None:
        self.books = books
        self.applied_to: dict[str, set[str]] = {}  # QBO payment -> the QBO invoices listing it
        for invoice_id, row in side.rows["Invoice"].items():
            for link in row.get("LinkedTxn") or []:
                if link.get("TxnType") == "Payment":
                    self.applied_to.setdefault(str(link["TxnId"]), set()).add(invoice_id)
        self.differing = {(d.object_type, d.qbo_id) for d in result.differences}
        self.customers = books.job.store.get_mappings(books.job.company, "customer")

    def witnessed(
        self, mappings: list[MappedRecord], payments: dict[str, dict[str, Any]], expected: dict[str, Amounts]
    ) -> set[str]:
        """The Invoiced ids of the payments whose money the invoices and customers vouch for."""
        return {
            m.invoiced_id for m in mappings
            if m.invoiced_id in expected and self._vouched(m, payments[m.invoiced_id], expected[m.invoiced_id])
        }

    def _vouched(self, mapping: MappedRecord, payment: dict[str, Any], expected: Amounts) -> bool:
        labels = [label for label, _ in expected.applied]
        if any(not label.startswith("invoice ") for label in labels):
            return False  # a credit note or a fee invoice: compared line by line
        invoices = {self.books.mappings[label.removeprefix("invoice ")].qbo_id for label in labels
                    if label.removeprefix("invoice ") in self.books.mappings}
        listed = set().union(*(self.applied_to.get(q, set()) for q in qbo_ids(mapping)))
        customer = self.customers.get(str(payment.get("customer")))
        return (
            bool(invoices) and len(invoices) == len(labels) and listed == invoices
            and not any(("invoice", q) in self.differing for q in invoices)
            and customer is not None and ("customer", customer.qbo_id) not in self.differing
        )


def _expected(books: Books, mapping: MappedRecord, payment: dict[str, Any]) -> Amounts:
    """What the Invoiced payment says QuickBooks must show (see ``_pair``)."""
    if mapping.origin == ORIGIN_QUICKBOOKS:
        return imported_on_invoiced(payment)
    return payment_on_invoiced(payment, books.mappings, books.notes)


def qbo_ids(mapping: MappedRecord) -> list[str]:
    """The QBO payments a mapping stands for: one, or for a payment qbo_import recorded of
    several paid in QuickBooks at once, their comma-separated list."""
    return [part for part in mapping.qbo_id.split(",") if part]


def _pair(
    books: Books, mapping: MappedRecord, payment: dict[str, Any], expected: Amounts, rows: list[dict[str, Any]],
    labels: dict[tuple[str, str], str],
) -> Pair:
    number = f"payment {payment.get('reference') or mapping.invoiced_id}"
    if mapping.origin == ORIGIN_QUICKBOOKS:
        return Pair(
            mapping.invoiced_id, mapping.qbo_id, number, "quickbooks", expected,
            imported_in_qbo(rows, labels, expected) if rows else None,
            # qbo_import keeps no SyncToken of what it records: a QBO payment edited since it was made counts as edited
            qbo_changed=any(int(row.get("SyncToken") or 0) > 0 for row in rows), object_type="payment",
        )
    return Pair(
        mapping.invoiced_id, mapping.qbo_id, number, "invoiced", expected,
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


