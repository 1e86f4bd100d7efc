"""Operations that issue a credit note and apply it in one go.

Both the bad-debt write-off and a credit note created against an invoice end as a
credit-note application, exactly the records the real service leaves behind.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.invoiced.calc import is_written_off
from sandbox.invoiced.documents import CREDIT_NOTES, INVOICES, create_document, get_document, settle
from sandbox.invoiced.errors import ApiError
from sandbox.invoiced.models import SplitInput
from sandbox.invoiced.money import ZERO
from sandbox.invoiced.payments import new_payment, save_payment
from sandbox.invoiced.records import CreditNote, Invoice, Item
from sandbox.invoiced.store import Store

BAD_DEBT_ITEM = "bad_debt"


def _apply_credit_note(store: Store, credit_note: CreditNote, invoice: Invoice, amount: Decimal) -> None:
    customer = store.customers[invoice.customer_id]
    payment = new_payment(store, customer, invoice.currency, ZERO)
    split = SplitInput(
        type="credit_note",
        amount=amount,
        credit_note=credit_note.id,
        invoice=invoice.id,
        document_type="invoice",
    )
    save_payment(store, payment, [split], allow_closed=True)


def create_credit_note(store: Store, payload: dict[str, Any]) -> CreditNote:
    """A credit note naming an invoice is applied to it at once (up to the invoice balance)."""
    credit_note: CreditNote = create_document(store, CREDIT_NOTES, payload)
    invoice = store.invoices.get(credit_note.invoice_id) if credit_note.invoice_id is not None else None
    if invoice is None or invoice.voided or credit_note.draft or credit_note.voided:
        return credit_note
    amount = min(invoice.balance, credit_note.total)
    if amount > 0:
        _apply_credit_note(store, credit_note, invoice, amount)
    return store.credit_notes[credit_note.id]


def _refusal(invoice: Invoice) -> str | None:
    if is_written_off(invoice):
        return "The invoice has already been written off"
    if invoice.draft:
        return "You can't write off draft invoices"
    if invoice.voided:
        return "You can't write off voided invoices"
    if invoice.balance <= 0:
        return "You can't write off invoices with zero balance"
    return None


def _bad_debt_item(store: Store) -> Item:
    item = store.items.get(BAD_DEBT_ITEM)
    if item is None:
        now = store.now()
        item = Item(id=BAD_DEBT_ITEM, name="Bad Debt", type="bad_debt", created_at=now, updated_at=now)
        store.items[BAD_DEBT_ITEM] = item
    return item


def write_off_invoice(store: Store, invoice_id: int) -> Invoice:
    """``POST /invoices/:id/bad_debt``: credit the balance away and mark the invoice bad debt."""
    invoice: Invoice = get_document(store, INVOICES, invoice_id)
    refusal = _refusal(invoice)
    if refusal is not None:
        raise ApiError(store.settings.bad_debt_error_status, refusal)
    balance = invoice.balance
    item = _bad_debt_item(store)
    credit_note: CreditNote = create_document(
        store,
        CREDIT_NOTES,
        {
            "customer": invoice.customer_id,
            "currency": invoice.currency,
            "name": "Bad Debt",
            "items": [{"catalog_item": item.id, "unit_cost": str(balance), "quantity": 1}],
            "calculate_taxes": False,
        },
    )
    _apply_credit_note(store, credit_note, invoice, balance)
    invoice.closed = True
    invoice.date_bad_debt = store.now()
    invoice.amount_written_off = balance
    settle(store, invoice, creating=False, closed_in_request=True)
    return invoice
