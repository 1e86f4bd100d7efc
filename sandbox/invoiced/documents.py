"""Invoices and credit notes: creation, edits, void and delete.

Edits are applied to a copy and swapped in only when every rule passed, so a rejected
PATCH never leaves a half-updated document behind.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sandbox.invoiced.accounting import ACCOUNTING_FIELDS, forget_mark, parse_mark, record_mark
from sandbox.invoiced.calc import calculate_document, due_date_from_terms, settle_credit_note, settle_invoice
from sandbox.invoiced.errors import invalid, not_found
from sandbox.invoiced.models import (
    CreditNoteInput,
    DocumentInput,
    InvoiceInput,
    LineItemInput,
    RateRef,
    copy_sent_fields,
    parse_input,
    reject_blocked,
)
from sandbox.invoiced.money import ZERO, to_decimal
from sandbox.invoiced.records import AppliedRate, CreditNote, Customer, Document, Invoice, LineItem
from sandbox.invoiced.serialize import RATE_KEYS, coupon_json, tax_rate_json
from sandbox.invoiced.store import Store

INVOICE_BLOCKED = frozenset(
    {
        "subtotal",
        "total",
        "status",
        "viewed",
        "client_id",
        "client_id_exp",
        "date_paid",
        "date_bad_debt",
        "subscription_id",
        "amount_paid",
        "amount_credited",
        "paid",
        "balance",
        "last_sent",
        "attempt_count",
        "recalculate_chase",
        "payment_plan_id",
        "created_at",
        "updated_at",
    }
)
CREDIT_NOTE_BLOCKED = frozenset(
    {
        "subtotal",
        "total",
        "status",
        "invoice_id",
        "amount_applied_to_invoice",
        "amount_refunded",
        "amount_credited",
        "paid",
        "balance",
    }
)
DOCUMENT_FIELDS = frozenset({"purchase_order", "notes", "draft", "closed", "sent", "metadata"})
INVOICE_FIELDS = DOCUMENT_FIELDS | {"payment_terms", "autopay", "due_date"}
LINE_FIELDS = frozenset(
    {"type", "name", "description", "quantity", "unit_cost", "discountable", "taxable", "metadata"}
)
RATE_LISTS = {
    "discount": ("discounts", "discount"),
    "tax": ("taxes", "tax"),
    "shipping": ("shipping", "shipping"),
}
IGNORED_ON_UPDATE = ACCOUNTING_FIELDS | {"calculate_taxes", "invoice"}
VOIDED_MESSAGE = "Your changes cannot be saved because this document is voided."
CLOSED_MESSAGE = "Your changes cannot be saved because this document is closed. Please re-open the document to make any changes."


@dataclass(frozen=True)
class DocumentKind:
    """What differs between invoices and credit notes."""

    name: str
    title: str
    model_name: str
    default_name: str
    table: str
    input_model: type[DocumentInput]
    blocked: frozenset[str]
    fields: frozenset[str]


INVOICES = DocumentKind(
    "invoice", "Invoice", "Invoice", "Invoice", "invoices", InvoiceInput, INVOICE_BLOCKED, INVOICE_FIELDS
)
CREDIT_NOTES = DocumentKind(
    "credit_note",
    "Credit Note",
    "CreditNote",
    "Credit Note",
    "credit_notes",
    CreditNoteInput,
    CREDIT_NOTE_BLOCKED,
    DOCUMENT_FIELDS,
)


def _table(store: Store, kind: DocumentKind) -> dict[int, Any]:
    table: dict[int, Any] = getattr(store, kind.table)
    return table


def get_document(store: Store, kind: DocumentKind, doc_id: int) -> Any:
    doc = _table(store, kind).get(doc_id)
    if doc is None:
        raise not_found(kind.title, doc_id)
    return doc


# Applied rates


def rate_snapshot(record: Any) -> dict[str, Any]:
    return tax_rate_json(record) if hasattr(record, "inclusive") else coupon_json(record)


def _lookup_rate(store: Store, kind: str, rate_id: str) -> Any:
    tables: dict[str, dict[str, Any]] = {"tax": store.tax_rates, "discount": store.coupons}
    return tables.get(kind, {}).get(rate_id)


def _flat_amount(kind: str, ref: dict[str, Any]) -> Decimal:
    try:
        return to_decimal(ref.get("amount") or 0)
    except ValueError as exc:
        raise invalid("Amount only allows numbers", RATE_LISTS[kind][0]) from exc


def _resolve_rate(store: Store, kind: str, ref: RateRef) -> AppliedRate | None:
    """A rate id, ``{"tax_rate": id}``, an embedded rate object or ``{"amount": n}``.

    References to rates that do not exist are skipped silently, as the service does.
    """
    target = ref if isinstance(ref, str) else ref.get(RATE_KEYS[kind])
    if isinstance(target, dict):
        snapshot: dict[str, Any] | None = target
    elif target:
        rate = _lookup_rate(store, kind, str(target))
        if rate is None:
            return None
        snapshot = rate_snapshot(rate)
    elif isinstance(ref, dict):
        return AppliedRate(id=store.next_id("applied_rate"), kind=kind, amount=_flat_amount(kind, ref))
    else:
        return None
    return AppliedRate(id=store.next_id("applied_rate"), kind=kind, amount=ZERO, rate=snapshot)


def expand_rates(store: Store, kind: str, refs: list[RateRef]) -> list[AppliedRate]:
    """Resolve a list of applied rates, dropping unknown and duplicate rates."""
    result: list[AppliedRate] = []
    used: set[str] = set()
    for ref in refs:
        rate = _resolve_rate(store, kind, ref)
        if rate is None:
            continue
        rate_id = str(rate.rate.get("id")) if rate.rate is not None else None
        if rate_id is not None:
            if rate_id in used:
                continue
            used.add(rate_id)
        result.append(rate)
    return result


def _sent_rates(data: DocumentInput, list_name: str, flat_name: str) -> list[RateRef] | None:
    """The rate list a request sets: flat ``tax``/``discount``/``shipping`` win over lists."""
    sent = data.model_fields_set
    flat = getattr(data, flat_name)
    if flat_name in sent and isinstance(flat, Decimal):
        return [{"amount": str(flat)}]
    if list_name in sent and isinstance(getattr(data, list_name), list):
        refs: list[RateRef] = getattr(data, list_name)
        return refs
    return None


def _apply_rates(store: Store, doc: Document, data: DocumentInput) -> None:
    for kind, (list_name, flat_name) in RATE_LISTS.items():
        refs = _sent_rates(data, list_name, flat_name)
        if refs is not None:
            setattr(doc, list_name, expand_rates(store, kind, refs))


# Line items


def _apply_line_entry(store: Store, line: LineItem, entry: LineItemInput) -> None:
    copy_sent_fields(entry, line, LINE_FIELDS)
    line.name = (line.name or "").strip()
    if line.description is not None:
        line.description = line.description.strip()
    if "discounts" in entry.model_fields_set:
        line.discounts = expand_rates(store, "discount", entry.discounts)
    if "taxes" in entry.model_fields_set:
        line.taxes = expand_rates(store, "tax", entry.taxes)


def _new_line(store: Store, entry: LineItemInput) -> LineItem:
    """A new line; a catalog item fills whatever the entry leaves out."""
    line = LineItem(id=store.next_id("line_item"), quantity=Decimal(1), unit_cost=ZERO)
    if entry.catalog_item:
        item = store.items.get(entry.catalog_item)
        if item is None:
            raise invalid(f"No such item: {entry.catalog_item}", "items")
        line.catalog_item = item.id
        line.type = item.type
        line.name = item.name
        line.description = item.description
        line.unit_cost = item.unit_cost
        line.discountable = item.discountable
        line.taxable = item.taxable
        line.taxes = expand_rates(store, "tax", list(item.taxes))
    _apply_line_entry(store, line, entry)
    return line


def _replace_lines(store: Store, existing: list[LineItem], entries: list[LineItemInput]) -> list[LineItem]:
    """The sent list becomes the line set: ids update in place, others are new, the rest go."""
    by_id = {line.id: line for line in existing}
    lines: list[LineItem] = []
    for entry in entries:
        if entry.id is None:
            lines.append(_new_line(store, entry))
            continue
        line = by_id.get(entry.id)
        if line is None:
            raise invalid(f"Referenced line item that does not exist: {entry.id}", "items")
        _apply_line_entry(store, line, entry)
        lines.append(line)
    return lines


def _clone_rates(rates: list[AppliedRate]) -> list[AppliedRate]:
    return [replace(rate) for rate in rates]


def clone_document(doc: Document) -> Any:
    """A copy deep enough that pricing it cannot touch the stored document."""
    lines = [
        replace(line, discounts=_clone_rates(line.discounts), taxes=_clone_rates(line.taxes))
        for line in doc.items
    ]
    return replace(
        doc,
        items=lines,
        discounts=_clone_rates(doc.discounts),
        taxes=_clone_rates(doc.taxes),
        shipping=_clone_rates(doc.shipping),
        metadata=dict(doc.metadata),
    )


# Derived state


def latest_payment_date(store: Store, invoice_id: int) -> int | None:
    dates = [
        store.payments[pid].date
        for pid in store.invoice_payments.get(invoice_id, ())
        if pid in store.payments
    ]
    return max(dates, default=None)


def settle(store: Store, doc: Document, *, creating: bool, closed_in_request: bool) -> None:
    if isinstance(doc, Invoice):
        paid_on = latest_payment_date(store, doc.id) or store.now()
        settle_invoice(doc, creating=creating, closed_in_request=closed_in_request, paid_on=paid_on)
    elif isinstance(doc, CreditNote):
        settle_credit_note(doc, closed_in_request=closed_in_request)


def _invoice_terms_on_create(invoice: Invoice, data: DocumentInput, customer: Customer) -> None:
    """Terms and AutoPay come from the customer unless sent; terms give the due date."""
    sent = data.model_fields_set
    if not invoice.due_date and "payment_terms" not in sent:
        invoice.payment_terms = customer.payment_terms
    if "autopay" not in sent:
        invoice.autopay = customer.autopay
    if not invoice.due_date:
        invoice.due_date = due_date_from_terms(invoice.payment_terms, invoice.date)


def _invoice_terms_on_update(before: Invoice, after: Invoice, changes: set[str]) -> None:
    """A new date or new terms move the due date, unless the request sets it."""
    moved = after.date != before.date or after.payment_terms != before.payment_terms
    if "due_date" not in changes and after.payment_terms and moved:
        after.due_date = due_date_from_terms(after.payment_terms, after.date)


# Operations


def _document_customer(store: Store, customer_id: int | None) -> Customer:
    if customer_id is None:
        raise invalid("Customer missing", "customer")
    customer = store.customers.get(customer_id)
    if customer is None:
        raise invalid(f"No such customer: {customer_id}", "customer")
    if not customer.active:
        raise invalid("This cannot be created because the customer is inactive", "customer")
    return customer


def _linked_invoice(store: Store, data: DocumentInput) -> Invoice | None:
    """Credit notes may name the invoice they credit (legacy, still accepted)."""
    if not isinstance(data, CreditNoteInput) or data.invoice is None:
        return None
    invoice_id = data.invoice
    invoice = store.invoices.get(invoice_id)
    if invoice is None:
        raise invalid(f"No such invoice: {invoice_id}", "invoice")
    if data.customer is not None and data.customer != invoice.customer_id:
        raise invalid(
            "The invoice belongs to a different customer than the one that was specified.", "customer"
        )
    return invoice


def _new_document(store: Store, kind: DocumentKind, data: DocumentInput) -> Document:
    linked = _linked_invoice(store, data)
    customer = _document_customer(store, data.customer if linked is None else linked.customer_id)
    number = data.number if "number" in data.model_fields_set else store.next_number(kind.name)
    store.ensure_number_free(kind.name, number)
    currency = data.currency or (linked.currency if linked else None) or customer.currency
    currency = currency or store.settings.company_currency
    if linked is not None and currency != linked.currency:
        raise invalid(
            f"The currency on this credit note ({currency}) must match the invoice currency ({linked.currency}).",
            "currency",
        )
    now = store.now()
    record = Invoice if kind is INVOICES else CreditNote
    doc = record(
        id=store.next_id(kind.name),
        customer_id=customer.id,
        number=number,
        name=data.name or kind.default_name,
        currency=currency,
        date=data.date if data.date is not None else now,
        created_at=now,
        updated_at=now,
    )
    if isinstance(doc, CreditNote) and linked is not None:
        doc.invoice_id = linked.id
    copy_sent_fields(data, doc, kind.fields)
    doc.items = [_new_line(store, entry) for entry in data.items]
    _apply_rates(store, doc, data)
    calculate_document(doc)
    if isinstance(doc, Invoice):
        _invoice_terms_on_create(doc, data, customer)
        doc.last_sent = now if doc.sent else None
    return doc


def create_document(store: Store, kind: DocumentKind, payload: dict[str, Any]) -> Any:
    reject_blocked(payload, kind.blocked, kind.model_name)
    data = parse_input(kind.input_model, payload)
    mark = parse_mark(data)
    doc = _new_document(store, kind, data)
    settle(store, doc, creating=True, closed_in_request=False)
    store.claim_number(kind.name, doc.number, doc.id)
    _table(store, kind)[doc.id] = doc
    store.saved(doc)
    record_mark(store, kind.name, doc.id, mark)
    return doc


def _ensure_editable(current: Document, data: DocumentInput, changes: set[str]) -> None:
    if current.voided:
        raise invalid(VOIDED_MESSAGE, "voided")
    reopening = "closed" in changes and not data.closed
    if current.closed and not reopening:
        raise invalid(CLOSED_MESSAGE, "closed")


def _edited_copy(
    store: Store, kind: DocumentKind, current: Document, data: DocumentInput, changes: set[str]
) -> Any:
    _ensure_editable(current, data, changes)
    if "customer" in changes and data.customer != current.customer_id:
        raise invalid("Invalid request parameter `customer`. The customer cannot be modified.", "customer")
    if "draft" in changes and data.draft and not current.draft:
        raise invalid("Cannot save as a draft because the document has already been issued.", "draft")
    if "currency" in changes and not data.currency:
        raise invalid("The currency cannot be unset.", "currency")
    if "number" in changes:
        store.ensure_number_free(kind.name, data.number, current.id)
    doc = clone_document(current)
    doc.number = data.number if "number" in changes else doc.number
    doc.name = (data.name or kind.default_name) if "name" in changes else doc.name
    doc.currency = data.currency or doc.currency
    doc.date = data.date if "date" in changes and data.date is not None else doc.date
    copy_sent_fields(data, doc, kind.fields)
    if "items" in changes:
        doc.items = _replace_lines(store, doc.items, data.items)
    _apply_rates(store, doc, data)
    calculate_document(doc)
    if isinstance(doc, Invoice) and isinstance(current, Invoice):
        _invoice_terms_on_update(current, doc, changes)
        if "sent" in changes and doc.sent:
            doc.last_sent = store.now()
    settle(store, doc, creating=False, closed_in_request="closed" in changes)
    store.touch(doc)
    return doc


def update_document(store: Store, kind: DocumentKind, doc_id: int, payload: dict[str, Any]) -> Any:
    current = get_document(store, kind, doc_id)
    reject_blocked(payload, kind.blocked, kind.model_name)
    data = parse_input(kind.input_model, payload)
    mark = parse_mark(data)
    changes = data.model_fields_set - IGNORED_ON_UPDATE
    if changes or store.settings.mark_only_patch_is_edit:
        doc = _edited_copy(store, kind, current, data, changes)
        if doc.number != current.number:
            store.release_number(kind.name, current.number)
            store.claim_number(kind.name, doc.number, doc.id)
        _table(store, kind)[doc_id] = doc
    record_mark(store, kind.name, doc_id, mark)
    return _table(store, kind)[doc_id]


def void_blocker(doc: Document) -> str | None:
    """Why a document can be neither voided nor deleted (money was applied to it)."""
    if isinstance(doc, Invoice):
        if doc.amount_credited > 0:
            return "This invoice cannot be voided because it has a credit note applied."
        if doc.amount_paid > 0:
            return "This invoice cannot be voided because it has a payment applied."
    if isinstance(doc, CreditNote):
        if doc.amount_credited > 0:
            return "This credit note cannot be voided because it has been added to the customer's credit balance."
        if doc.amount_refunded > 0:
            return "This credit note cannot be voided because it has a refund applied."
        if doc.amount_applied_to_invoice > 0:
            return "This credit note cannot be voided because it has been applied to an invoice."
    return None


def void_document(store: Store, kind: DocumentKind, doc_id: int) -> Any:
    doc = get_document(store, kind, doc_id)
    if doc.voided:
        raise invalid("This document has already been voided.")
    blocker = void_blocker(doc)
    if blocker is not None:
        raise invalid(blocker)
    doc.voided = True
    doc.date_voided = store.now()
    settle(store, doc, creating=False, closed_in_request=False)
    store.touch(doc)
    return doc


def delete_document(store: Store, kind: DocumentKind, doc_id: int) -> None:
    """Any document that could be voided can be deleted; applied money blocks both."""
    doc = get_document(store, kind, doc_id)
    blocker = void_blocker(doc)
    if blocker is not None:
        raise invalid(blocker, "voided")
    store.release_number(kind.name, doc.number)
    del _table(store, kind)[doc_id]
    forget_mark(store, kind.name, doc_id)
