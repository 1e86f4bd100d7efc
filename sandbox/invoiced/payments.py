"""Payments and cash application (``applied_to``).

Creating, re-applying and voiding a payment all go through `reapply`: it works out the
change per document, checks every rule first, then moves the money, so a refused
application leaves invoices, credit notes and the customer's credit balance untouched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox.invoiced.accounting import ACCOUNTING_FIELDS, parse_mark, record_mark
from sandbox.invoiced.documents import CLOSED_MESSAGE, VOIDED_MESSAGE, settle
from sandbox.invoiced.errors import ApiError, invalid, not_found
from sandbox.invoiced.models import PaymentInput, SplitInput, copy_sent_fields, parse_input
from sandbox.invoiced.money import ZERO, php_amount
from sandbox.invoiced.options import PAYMENT_CREATE_BODY, PAYMENT_EDIT_BODY, Options, check_body
from sandbox.invoiced.records import CreditNote, Customer, Document, Invoice, Payment, Split
from sandbox.invoiced.store import Store

PAYMENT_FIELDS = frozenset({"method", "reference", "notes", "ach_sender_id", "metadata"})
# PaymentItemType. `convenience_fee` is cash kept as a fee, applied to no document; an
# `estimate` split needs an estimate, which the sandbox does not have; a
# `document_adjustment` lowers a document's balance without spending the payment's cash.
SPLIT_TYPES = frozenset(
    {"invoice", "credit_note", "credit", "applied_credit", "convenience_fee", "estimate", "document_adjustment"}
)
CASH_TYPES = frozenset({"invoice", "credit", "convenience_fee", "estimate"})
# Splits that may name documents other than their own type (HasAppliedToTrait::validateAppliedTo).
MULTI_DOCUMENT_TYPES = frozenset({"applied_credit", "credit_note", "document_adjustment"})
DOCUMENT_TYPES = ("invoice", "estimate")
ADJUSTED_DOCUMENT_TYPES = ("credit_note", "estimate", "invoice")
DEFAULT_METHOD = "other"
DOCUMENTED_METHODS = frozenset(
    {"ach", "cash", "check", "credit_card", "eft", "direct_debit", "other", "paypal", "wire_transfer"}
)
APPLY_ERROR_PREFIX = "An error occurred while trying to apply payment: "


def apply_error(message: str) -> ApiError:
    return invalid(APPLY_ERROR_PREFIX + message, "applied_to")


def get_payment(store: Store, payment_id: int) -> Payment:
    payment = store.payments.get(payment_id)
    if payment is None:
        raise not_found("Payment", payment_id)
    return payment


@dataclass
class PlannedSplit:
    """One requested application, with its documents resolved."""

    type: str
    amount: Decimal
    invoice: Invoice | None = None
    credit_note: CreditNote | None = None

    def key(self) -> tuple[str, int | None, int | None]:
        return (
            self.type,
            self.credit_note.id if self.credit_note else None,
            self.invoice.id if self.invoice else None,
        )

    def credit_balance_effect(self, delta: Decimal) -> Decimal:
        """How applying ``delta`` moves the customer's credit balance."""
        if self.type == "credit" or (self.type == "credit_note" and self.invoice is None):
            return delta
        if self.type == "applied_credit":
            return -delta
        return ZERO


# Planning


def _find_invoice(store: Store, invoice_id: int | None) -> Invoice:
    invoice = store.invoices.get(invoice_id) if invoice_id is not None else None
    if invoice is None:
        raise apply_error(f"Could not find invoice: {invoice_id if invoice_id is not None else ''}")
    return invoice


def _find_credit_note(store: Store, credit_note_id: int | None) -> CreditNote:
    credit_note = store.credit_notes.get(credit_note_id) if credit_note_id is not None else None
    if credit_note is None:
        raise apply_error(
            f"Could not find credit note: {credit_note_id if credit_note_id is not None else ''}"
        )
    return credit_note


def _credit_note_target(store: Store, document_type: str | None, invoice_id: int | None) -> Invoice | None:
    """A credit note goes to an invoice only with ``document_type: invoice``, else to the credit balance."""
    if document_type is None:
        return None
    if document_type not in DOCUMENT_TYPES:
        raise apply_error("Invalid document type provided. Allowed types are " + ", ".join(DOCUMENT_TYPES))
    if invoice_id is None:
        raise apply_error("Document type provided without document")
    if document_type != "invoice":
        raise apply_error("Estimates are not supported by the sandbox")
    return _find_invoice(store, invoice_id)


def _no_estimates(estimate_id: int | None) -> ApiError:
    """EstimateSplit / DocumentAdjustmentSplit look the estimate up; the sandbox has none."""
    return apply_error(f"Could not find estimate: {estimate_id if estimate_id is not None else ''}")


def _adjusted_document(
    store: Store, planned: PlannedSplit, entry: SplitInput, base: Split | None, invoice_id: int | None
) -> None:
    """DocumentAdjustmentSplit: ``document_type`` names the document whose balance moves."""
    document_type = entry.document_type
    if document_type is None and base is not None:
        document_type = "credit_note" if base.credit_note_id is not None else "invoice"
    if not document_type:
        raise apply_error("Unspecified document type.")
    if document_type not in ADJUSTED_DOCUMENT_TYPES:
        raise apply_error(
            "Invalid document type provided. Allowed types are " + ", ".join(ADJUSTED_DOCUMENT_TYPES)
        )
    if document_type == "estimate":
        raise _no_estimates(entry.estimate)
    if document_type == "invoice":
        planned.invoice = _find_invoice(store, invoice_id)
    else:
        credit_note_id = entry.credit_note if entry.credit_note is not None else (
            base.credit_note_id if base else None
        )
        planned.credit_note = _find_credit_note(store, credit_note_id)


def _check_references(split_type: str, entry: SplitInput, base: Split | None) -> None:
    if split_type not in MULTI_DOCUMENT_TYPES:
        if entry.invoice is not None and split_type != "invoice":
            raise invalid("Cannot supply invoice ID to non-invoice splits.", "applied_to.invoice")
        if entry.estimate is not None and split_type != "estimate":
            raise invalid("Cannot supply estimate ID to non-estimate splits.", "applied_to.estimate")
    if base is not None and entry.invoice is not None and entry.invoice != base.invoice_id:
        raise invalid(
            "The invoice of an existing payment application cannot be changed", "applied_to.invoice"
        )


def _plan_one(store: Store, entry: SplitInput, base: Split | None, currency: str) -> PlannedSplit:
    split_type = entry.type or (base.type if base else None)
    if not split_type:
        raise invalid("Missing `type` parameter", "applied_to")
    if entry.amount is None:
        raise apply_error("Must provide an amount for each transaction.")
    if entry.amount <= 0:
        raise apply_error(
            f"Amount applied to document must be greater than 0. Provided: {php_amount(entry.amount, currency)}"
        )
    known = split_type in SPLIT_TYPES and (
        split_type != "document_adjustment" or store.settings.document_adjustment_splits
    )
    if not known:
        raise apply_error(f"Invalid payment application type: {split_type}")
    _check_references(split_type, entry, base)
    invoice_id = entry.invoice if entry.invoice is not None else (base.invoice_id if base else None)
    planned = PlannedSplit(type=split_type, amount=entry.amount)
    if split_type in ("invoice", "applied_credit"):
        planned.invoice = _find_invoice(store, invoice_id)
    elif split_type == "estimate":
        raise _no_estimates(entry.estimate)
    elif split_type == "document_adjustment":
        _adjusted_document(store, planned, entry, base, invoice_id)
    elif split_type == "credit_note":
        credit_note_id = (
            entry.credit_note if entry.credit_note is not None else (base.credit_note_id if base else None)
        )
        planned.credit_note = _find_credit_note(store, credit_note_id)
        kept_target = "invoice" if base is not None and base.invoice_id is not None else None
        planned.invoice = _credit_note_target(store, entry.document_type or kept_target, invoice_id)
    return planned


def _documents(planned: PlannedSplit) -> Iterable[tuple[str, Document]]:
    if planned.invoice is not None:
        yield "invoice", planned.invoice
    if planned.credit_note is not None:
        yield "credit note", planned.credit_note


def _check_ownership(store: Store, planned: list[PlannedSplit], customer_id: int, currency: str) -> None:
    customer = store.customers[customer_id]
    for split in planned:
        for label, doc in _documents(split):
            if doc.currency != currency:
                raise apply_error(
                    f"The currency of {label} {doc.number} ({doc.currency}) does not match "
                    f"the payment currency ({currency})"
                )
            if doc.customer_id != customer_id:
                raise apply_error(
                    f"The {label} provided ({doc.number}) does not belong to the customer that was "
                    f"selected to apply payments for: {customer.number}"
                )


def plan_splits(
    store: Store, payment: Payment, entries: list[SplitInput], customer_id: int | None
) -> tuple[list[PlannedSplit], int | None]:
    """Resolve the requested applications; a payment without customer takes the first document's.

    Entries may carry the ``id`` of an existing application to change its amount.
    """
    by_id = {split.id: split for split in payment.splits}
    planned: list[PlannedSplit] = []
    seen: set[tuple[str, int | None, int | None]] = set()
    for entry in entries:
        split = _plan_one(
            store, entry, by_id.get(entry.id) if entry.id is not None else None, payment.currency
        )
        if split.key() in seen:
            target = split.credit_note or split.invoice
            raise apply_error(
                "Each document can only be applied once per payment. "
                f"Detected duplicate ({split.type}:{target.id if target else ''})"
            )
        seen.add(split.key())
        planned.append(split)
        if customer_id is None:
            customer_id = next((doc.customer_id for _, doc in _documents(split)), None)
    if planned and customer_id is None:
        raise apply_error("Missing customer")
    if customer_id is not None:
        _check_ownership(store, planned, customer_id, payment.currency)
    return planned, customer_id


# Applying


def _split_as_planned(store: Store, split: Split) -> PlannedSplit:
    return PlannedSplit(
        type=split.type,
        amount=split.amount,
        invoice=store.invoices.get(split.invoice_id) if split.invoice_id is not None else None,
        credit_note=store.credit_notes.get(split.credit_note_id)
        if split.credit_note_id is not None
        else None,
    )


def _changes(
    store: Store, payment: Payment, planned: list[PlannedSplit]
) -> list[tuple[PlannedSplit, Decimal]]:
    """(application, amount delta) for every split added, changed or removed."""
    old = {split.key(): split for split in payment.splits}
    changes: list[tuple[PlannedSplit, Decimal]] = []
    for wanted in planned:
        previous = old.pop(wanted.key(), None)
        changes.append((wanted, wanted.amount - (previous.amount if previous else ZERO)))
    for removed in old.values():
        changes.append((_split_as_planned(store, removed), -removed.amount))
    return changes


def _check_invoice(store: Store, invoice: Invoice, delta: Decimal, allow_closed: bool) -> None:
    if invoice.voided:
        raise apply_error(f"Could not apply payment to invoice: {VOIDED_MESSAGE}")
    if invoice.closed and not (allow_closed or store.settings.allow_payments_on_closed):
        raise apply_error(f"Could not apply payment to invoice: {CLOSED_MESSAGE}")
    if delta > invoice.balance:
        raise apply_error(
            f"The amount applied to invoice {invoice.number} ({php_amount(delta, invoice.currency)}) "
            f"exceeds its balance ({php_amount(invoice.balance, invoice.currency)})"
        )


def _check_credit_note(credit_note: CreditNote, delta: Decimal) -> None:
    if credit_note.voided:
        raise apply_error(f"Could not apply transaction to credit note: {VOIDED_MESSAGE}")
    if delta > credit_note.balance:
        raise apply_error(
            f"The amount applied from credit note {credit_note.number} "
            f"({php_amount(delta, credit_note.currency)}) exceeds its balance "
            f"({php_amount(credit_note.balance, credit_note.currency)})"
        )


def _validate(
    store: Store,
    changes: list[tuple[PlannedSplit, Decimal]],
    customer: Customer | None,
    currency: str,
    allow_closed: bool,
) -> None:
    """Net effect per document must fit: open, not voided, within balance; credit never negative."""
    invoices: dict[int, tuple[Invoice, Decimal]] = {}
    credit_notes: dict[int, tuple[CreditNote, Decimal]] = {}
    credit_change = ZERO
    for split, delta in changes:
        if split.invoice is not None:
            previous = invoices.get(split.invoice.id, (split.invoice, ZERO))[1]
            invoices[split.invoice.id] = (split.invoice, previous + delta)
        if split.credit_note is not None:
            previous = credit_notes.get(split.credit_note.id, (split.credit_note, ZERO))[1]
            credit_notes[split.credit_note.id] = (split.credit_note, previous + delta)
        credit_change += split.credit_balance_effect(delta)
    for invoice, delta in invoices.values():
        if delta > 0:
            _check_invoice(store, invoice, delta, allow_closed)
    for credit_note, delta in credit_notes.values():
        if delta > 0:
            _check_credit_note(credit_note, delta)
    if customer is not None and customer.credit_balance + credit_change < 0:
        balance = php_amount(customer.credit_balance + credit_change, currency)
        raise apply_error(
            f"Could not write this change because it caused the customer's credit balance to become {balance}"
        )


def _move_money(split: PlannedSplit, delta: Decimal, customer: Customer | None) -> list[Any]:
    """Apply one delta; returns the records it changed."""
    changed: list[Any] = []
    if split.type == "document_adjustment":
        adjusted: Document | None = split.invoice or split.credit_note
        if adjusted is not None:
            adjusted.amount_adjusted += delta
            changed.append(adjusted)
        return changed
    if split.invoice is not None:
        if split.type == "credit_note":
            split.invoice.amount_credited += delta
        else:
            split.invoice.amount_paid += delta
        changed.append(split.invoice)
    if split.credit_note is not None:
        if split.invoice is not None:
            split.credit_note.amount_applied_to_invoice += delta
        else:
            split.credit_note.amount_credited += delta
        changed.append(split.credit_note)
    effect = split.credit_balance_effect(delta)
    if customer is not None and effect:
        customer.credit_balance += effect
        changed.append(customer)
    return changed


def _settle_changed(store: Store, doc: Document, delta_sign: int) -> None:
    """Money in issues a draft; money out reopens a closed document, as on the service."""
    if delta_sign > 0 and doc.draft:
        doc.draft = False
    if delta_sign < 0:
        doc.closed = False
    settle(store, doc, creating=False, closed_in_request=False)


def _reindex(store: Store, payment: Payment, planned: list[PlannedSplit]) -> None:
    """Track which payments paid each invoice (for ``date_paid``)."""
    for split in payment.splits:
        if split.invoice_id is not None:
            store.invoice_payments[split.invoice_id].discard(payment.id)
    for planned_split in planned:
        if planned_split.invoice is not None and planned_split.type in ("invoice", "applied_credit"):
            store.invoice_payments[planned_split.invoice.id].add(payment.id)


def reapply(
    store: Store,
    payment: Payment,
    planned: list[PlannedSplit],
    amount: Decimal,
    customer_id: int | None,
    *,
    allow_closed: bool = False,
) -> None:
    """Make ``planned`` the payment's applications (and amount/customer), moving only the differences."""
    customer = store.customers.get(customer_id) if customer_id is not None else None
    changes = _changes(store, payment, planned)
    _validate(store, changes, customer, payment.currency, allow_closed)
    cash = sum((split.amount for split in planned if split.type in CASH_TYPES), ZERO)
    if cash > amount:
        raise apply_error(
            f"Total amount applied ({php_amount(cash, payment.currency)}) cannot exceed "
            f"the payment amount ({php_amount(amount, payment.currency)})"
        )
    _reindex(store, payment, planned)
    changed: dict[int, tuple[Any, int]] = {}
    for split, delta in changes:
        if delta:
            for record in _move_money(split, delta, customer):
                changed[id(record)] = (record, 1 if delta > 0 else -1)
    for record, sign in changed.values():
        if isinstance(record, Document):
            _settle_changed(store, record, sign)
        store.touch(record)
    old_ids = {split.key(): split.id for split in payment.splits}
    payment.splits = [
        Split(
            id=old_ids.get(split.key()) or store.next_id("transaction"),
            type=split.type,
            amount=split.amount,
            invoice_id=split.invoice.id if split.invoice else None,
            credit_note_id=split.credit_note.id if split.credit_note else None,
        )
        for split in planned
    ]
    payment.amount = amount
    payment.balance = max(ZERO, amount - cash)
    payment.customer_id = customer_id


# Operations


def _payment_customer(store: Store, customer_id: int | None) -> Customer | None:
    if customer_id is None:
        return None
    customer = store.customers.get(customer_id)
    if customer is None:
        raise invalid(f"No such customer: {customer_id}")
    return customer


def new_payment(store: Store, customer: Customer | None, currency: str | None, amount: Decimal) -> Payment:
    """An unsaved payment with the account defaults filled in."""
    now = store.now()
    return Payment(
        id=store.next_id("payment"),
        customer_id=customer.id if customer else None,
        date=now,
        currency=currency or (customer.currency if customer else None) or store.settings.company_currency,
        amount=amount,
        balance=amount,
        created_at=now,
        updated_at=now,
        source=store.settings.payment_default_source,
    )


def save_payment(
    store: Store, payment: Payment, entries: list[SplitInput], *, allow_closed: bool = False
) -> Payment:
    """Apply and store a new payment; nothing is kept if the application is refused."""
    planned, customer_id = plan_splits(store, payment, entries, payment.customer_id)
    store.payments[payment.id] = payment  # visible while applying, so invoices see its date as paid date
    try:
        reapply(store, payment, planned, payment.amount, customer_id, allow_closed=allow_closed)
    except ApiError:
        del store.payments[payment.id]
        raise
    return payment


def parse_payment(store: Store, payload: dict[str, Any], defined: Options) -> PaymentInput:
    """CreatePaymentRoute/EditPaymentRoute: declared keys only, each of its declared PHP type
    (``strict_payment_types``); ``applied_to: null`` applies nothing."""
    check_body(payload, defined, types=store.settings.strict_payment_types)
    if payload.get("applied_to", []) is None:
        payload = {key: value for key, value in payload.items() if key != "applied_to"}
    data = parse_input(PaymentInput, payload)
    if store.settings.payment_methods_validated and data.method is not None and data.method not in DOCUMENTED_METHODS:
        raise invalid("Method must be one of the allowed values", "method")
    return data


def create_payment(store: Store, payload: dict[str, Any]) -> Payment:
    data = parse_payment(store, payload, PAYMENT_CREATE_BODY)
    mark = parse_mark(data)
    if data.amount < 0:
        raise invalid("The amount cannot be less than 0.", "amount")
    customer = _payment_customer(store, data.customer)
    payment = new_payment(store, customer, data.currency, data.amount)
    copy_sent_fields(data, payment, PAYMENT_FIELDS)
    payment.method = payment.method or DEFAULT_METHOD
    payment.date = data.date if data.date is not None else payment.date
    implied = "accounting_system" if mark and store.settings.mark_sets_payment_source else None
    payment.source = data.source or implied or payment.source
    save_payment(store, payment, data.applied_to)
    record_mark(store, "payment", payment.id, mark)
    return payment


def _check_scalar_edits(payment: Payment, data: PaymentInput, changes: set[str]) -> None:
    if payment.voided:
        raise invalid("The payment is voided and cannot be edited.", "voided")
    if "amount" in changes and data.amount < 0:
        raise invalid("The amount cannot be less than 0.", "amount")
    if "currency" in changes and data.currency != payment.currency and payment.splits:
        raise invalid(
            "The currency cannot be modified if the payment is applied. "
            "You must first unapply the payment to change the currency."
        )


def update_payment(store: Store, payment_id: int, payload: dict[str, Any]) -> Payment:
    payment = get_payment(store, payment_id)
    data = parse_payment(store, payload, PAYMENT_EDIT_BODY)
    mark = parse_mark(data)
    changes = data.model_fields_set - ACCOUNTING_FIELDS
    if changes or store.settings.mark_only_patch_is_edit:
        _check_scalar_edits(payment, data, changes)
        _edit_payment(store, payment, data, changes)
        store.touch(payment)
    record_mark(store, "payment", payment_id, mark)
    return payment


def _edit_payment(store: Store, payment: Payment, data: PaymentInput, changes: set[str]) -> None:
    """A new customer drops the old applications; a sent ``applied_to`` replaces them."""
    amount = data.amount if "amount" in changes else payment.amount
    customer_id = payment.customer_id
    if "customer" in changes and data.customer != payment.customer_id:
        _payment_customer(store, data.customer)
        customer_id = data.customer
    if "applied_to" in changes or customer_id != payment.customer_id:
        entries = data.applied_to if "applied_to" in changes else []
        planned, customer_id = plan_splits(store, payment, entries, customer_id)
        reapply(store, payment, planned, amount, customer_id)
    elif amount < payment.amount - payment.balance:
        raise invalid("The amount cannot cause the balance to go below 0.", "amount")
    else:
        payment.balance = amount - (payment.amount - payment.balance)
        payment.amount = amount
    copy_sent_fields(data, payment, PAYMENT_FIELDS)
    payment.method = payment.method or DEFAULT_METHOD
    payment.currency = data.currency or payment.currency
    payment.date = data.date if "date" in changes and data.date is not None else payment.date
    payment.source = data.source or payment.source


def void_payment(store: Store, payment_id: int) -> Payment:
    """``DELETE /payments/:id``: un-apply everything and keep the payment as voided."""
    payment = get_payment(store, payment_id)
    if payment.voided:
        raise invalid("This payment has already been voided.")
    if any(refund.payment_id == payment.id for refund in store.refunds.values()):
        raise invalid("This payment cannot be voided because it has been refunded.")
    reapply(store, payment, [], payment.amount, payment.customer_id)
    payment.voided = True
    payment.date_voided = store.now()
    payment.balance = payment.amount
    store.touch(payment)
    return payment
