"""Refunds: money paid back to a customer, as the legacy Transaction API records it.

``POST /transactions/:id/refunds`` refunds one application of a payment (its ``id`` in
``applied_to`` is the id of the underlying Transaction); ``POST /transactions`` with
``type: refund`` and a ``credit_note`` pays a credit note's balance out. Refunds are
listed and read at ``/transactions``; a refund leaves the invoice it came from paid.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.invoiced.documents import settle
from sandbox.invoiced.errors import invalid, not_found
from sandbox.invoiced.models import TransactionInput, parse_input
from sandbox.invoiced.money import ZERO, php_amount
from sandbox.invoiced.records import CreditNote, Payment, Refund, Split
from sandbox.invoiced.store import Store

REFUNDABLE_SPLITS = frozenset({"invoice", "credit"})
"""Applications that moved the payment's cash (a credit note application moved none)."""


def get_refund(store: Store, refund_id: int) -> Refund:
    refund = store.refunds.get(refund_id)
    if refund is None:
        raise not_found("Transaction", refund_id)
    return refund


def refunded(store: Store, parent_transaction: int) -> Decimal:
    return sum((r.amount for r in store.refunds.values() if r.parent_transaction == parent_transaction), ZERO)


def _find_split(store: Store, transaction_id: int) -> tuple[Payment, Split]:
    for payment in store.payments.values():
        for split in payment.splits:
            if split.id == transaction_id:
                return payment, split
    raise not_found("Transaction", transaction_id)


def _amount(data: TransactionInput, available: Decimal, currency: str) -> Decimal:
    if data.amount is None:
        raise invalid("Amount is missing", "amount")
    if data.amount <= 0:
        raise invalid("The refund amount must be greater than 0.", "amount")
    if data.amount > available:
        raise invalid(
            f"The refund amount ({php_amount(data.amount, currency)}) cannot exceed the amount "
            f"that can be refunded ({php_amount(available, currency)})",
            "amount",
        )
    return data.amount


def _new_refund(store: Store, data: TransactionInput, customer_id: int, currency: str, amount: Decimal) -> Refund:
    now = store.now()
    refund = Refund(
        id=store.next_id("transaction"),
        customer_id=customer_id,
        currency=currency,
        amount=amount,
        date=data.date if data.date is not None else now,
        created_at=now,
        updated_at=now,
        notes=data.notes,
        metadata=dict(data.metadata),
    )
    store.refunds[refund.id] = refund
    return refund


def refund_transaction(store: Store, transaction_id: int, payload: dict[str, Any]) -> Refund:
    """Refund (part of) one cash application of a payment, up to what is not refunded yet."""
    payment, split = _find_split(store, transaction_id)
    if payment.voided:
        raise invalid("This payment is voided and cannot be refunded.")
    if split.type not in REFUNDABLE_SPLITS or payment.customer_id is None:
        raise invalid("Only charge and payment transactions can be refunded.")
    data = parse_input(TransactionInput, payload)
    amount = _amount(data, split.amount - refunded(store, split.id), payment.currency)
    refund = _new_refund(store, data, payment.customer_id, payment.currency, amount)
    refund.method, refund.parent_transaction, refund.payment_id = payment.method, split.id, payment.id
    refund.invoice_id = split.invoice_id
    return refund


def _credit_note(store: Store, credit_note_id: int | None) -> CreditNote:
    credit_note = store.credit_notes.get(credit_note_id) if credit_note_id is not None else None
    if credit_note is None:
        raise invalid(f"No such credit note: {credit_note_id if credit_note_id is not None else ''}", "credit_note")
    if credit_note.draft or credit_note.voided:
        raise invalid("Only issued credit notes can be refunded.", "credit_note")
    return credit_note


def create_transaction(store: Store, payload: dict[str, Any]) -> Refund:
    """Legacy ``POST /transactions``: the sandbox records refunds of credit notes only
    (payments are recorded with ``/payments``, refunds of them with ``/transactions/:id/refunds``)."""
    data = parse_input(TransactionInput, payload)
    if data.type is None:
        raise invalid("Type is missing", "type")
    if data.type != "refund" or data.credit_note is None:
        raise invalid("The sandbox records only refunds of credit notes here.", "type")
    credit_note = _credit_note(store, data.credit_note)
    amount = _amount(data, credit_note.balance, credit_note.currency)
    refund = _new_refund(store, data, credit_note.customer_id, credit_note.currency, amount)
    refund.method, refund.credit_note_id = data.method or "other", credit_note.id
    _move_credit_note(store, credit_note, amount)
    return refund


def _move_credit_note(store: Store, credit_note: CreditNote, delta: Decimal) -> None:
    credit_note.amount_refunded += delta
    if delta < 0:
        credit_note.closed = False
    settle(store, credit_note, creating=False, closed_in_request=False)
    store.touch(credit_note)


def update_transaction(store: Store, refund_id: int, payload: dict[str, Any]) -> Refund:
    """Only the notes and metadata of a refund change."""
    refund = get_refund(store, refund_id)
    data = parse_input(TransactionInput, payload)
    if "notes" in data.model_fields_set:
        refund.notes = data.notes
    if "metadata" in data.model_fields_set:
        refund.metadata = dict(data.metadata)
    store.touch(refund)
    return refund


def delete_transaction(store: Store, refund_id: int) -> None:
    """A deleted refund gives a credit note its balance back."""
    refund = get_refund(store, refund_id)
    credit_note = store.credit_notes.get(refund.credit_note_id) if refund.credit_note_id is not None else None
    if credit_note is not None:
        _move_credit_note(store, credit_note, -refund.amount)
    del store.refunds[refund_id]
