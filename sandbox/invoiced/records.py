"""Stored records: plain slotted dataclasses, serialized only when a page is rendered.

Keeping records as objects (not JSON dicts) is what lets a list over 100,000 invoices
filter and sort without copying the account on every request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sandbox.invoiced.money import ZERO

Metadata = dict[str, Any]


@dataclass(slots=True, eq=False)
class Customer:
    id: int
    name: str
    number: str
    created_at: int
    updated_at: int
    email: str | None = None
    type: str = "company"
    autopay: bool = False
    payment_terms: str | None = None
    attention_to: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    language: str | None = None
    currency: str | None = None
    tax_id: str | None = None
    phone: str | None = None
    notes: str | None = None
    taxable: bool = True
    taxes: list[str] = field(default_factory=list)
    chase: bool = True
    credit_hold: bool = False
    credit_limit: Decimal | None = None
    parent_customer: int | None = None
    active: bool = True
    avalara_entity_use_code: str | None = None
    avalara_exemption_number: str | None = None
    credit_balance: Decimal = ZERO
    metadata: Metadata = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class Contact:
    id: int
    customer_id: int
    name: str
    created_at: int
    updated_at: int
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    primary: bool = False
    sms_enabled: bool = False
    department: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


@dataclass(slots=True, eq=False)
class Item:
    id: str
    name: str
    created_at: int
    updated_at: int
    currency: str | None = None
    unit_cost: Decimal = ZERO
    description: str | None = None
    type: str | None = None
    taxable: bool = True
    taxes: list[str] = field(default_factory=list)
    discountable: bool = True
    gl_account: str | None = None
    avalara_tax_code: str | None = None
    avalara_location_code: str | None = None
    metadata: Metadata = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class TaxRate:
    id: str
    name: str
    value: Decimal
    created_at: int
    updated_at: int
    currency: str | None = None
    is_percent: bool = True
    inclusive: bool = False
    metadata: Metadata = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class Coupon:
    id: str
    name: str
    value: Decimal
    created_at: int
    updated_at: int
    currency: str | None = None
    is_percent: bool = True
    exclusive: bool = False
    expiration_date: int | None = None
    max_redemptions: int = 0
    metadata: Metadata = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class AppliedRate:
    """A discount, tax or shipping charge on a line or a document.

    ``rate`` is the tax rate / coupon JSON captured when it was applied (None for a flat
    amount), so later edits of the rate cannot silently re-price issued documents.
    """

    id: int
    kind: str
    amount: Decimal
    rate: dict[str, Any] | None = None


@dataclass(slots=True, eq=False)
class LineItem:
    id: int
    quantity: Decimal
    unit_cost: Decimal
    amount: Decimal = ZERO
    catalog_item: str | None = None
    type: str | None = None
    name: str = ""
    description: str | None = None
    discountable: bool = True
    taxable: bool = True
    discounts: list[AppliedRate] = field(default_factory=list)
    taxes: list[AppliedRate] = field(default_factory=list)
    metadata: Metadata = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class Document:
    """What invoices and credit notes share (the service's ReceivableDocument)."""

    id: int
    customer_id: int
    number: str
    name: str
    currency: str
    date: int
    created_at: int
    updated_at: int
    draft: bool = False
    closed: bool = False
    paid: bool = False
    voided: bool = False
    date_voided: int | None = None
    sent: bool = False
    viewed: bool = False
    purchase_order: str | None = None
    notes: str | None = None
    items: list[LineItem] = field(default_factory=list)
    discounts: list[AppliedRate] = field(default_factory=list)
    taxes: list[AppliedRate] = field(default_factory=list)
    shipping: list[AppliedRate] = field(default_factory=list)
    subtotal: Decimal = ZERO
    total: Decimal = ZERO
    balance: Decimal = ZERO
    amount_credited: Decimal = ZERO
    # Lowered by `document_adjustment` applications; not a property the service shows.
    amount_adjusted: Decimal = ZERO
    metadata: Metadata = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class Invoice(Document):
    due_date: int | None = None
    payment_terms: str | None = None
    autopay: bool = False
    amount_paid: Decimal = ZERO
    date_paid: int | None = None
    date_bad_debt: int | None = None
    amount_written_off: Decimal = ZERO
    last_sent: int | None = None
    # When the stored status was last worked out: the last save, or the past-due job's run.
    status_checked_at: int = 0


@dataclass(slots=True, eq=False)
class CreditNote(Document):
    invoice_id: int | None = None
    amount_applied_to_invoice: Decimal = ZERO
    amount_refunded: Decimal = ZERO


@dataclass(slots=True, eq=False)
class Split:
    """One application of a payment (the service's underlying Transaction)."""

    id: int
    type: str
    amount: Decimal
    invoice_id: int | None = None
    credit_note_id: int | None = None

    def key(self) -> tuple[str, int | None, int | None]:
        """Identifies the documents a split touches; a payment applies to each only once."""
        return (self.type, self.credit_note_id, self.invoice_id)


@dataclass(slots=True, eq=False)
class Payment:
    id: int
    customer_id: int | None
    date: int
    currency: str
    amount: Decimal
    balance: Decimal
    created_at: int
    updated_at: int
    method: str = "other"
    reference: str | None = None
    source: str = "api"
    notes: str | None = None
    ach_sender_id: str | None = None
    voided: bool = False
    date_voided: int | None = None
    splits: list[Split] = field(default_factory=list)
    metadata: Metadata = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class Refund:
    """Money paid back to a customer: a legacy Transaction of type ``refund``, of one
    application of a payment (``parent_transaction``) or of a credit note."""

    id: int
    customer_id: int
    currency: str
    amount: Decimal
    date: int
    created_at: int
    updated_at: int
    method: str = "other"
    parent_transaction: int | None = None
    payment_id: int | None = None
    invoice_id: int | None = None
    credit_note_id: int | None = None
    notes: str | None = None
    metadata: Metadata = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class Mapping:
    """An "imported from" mark: kept apart from the record, as the service does."""

    accounting_system: str
    accounting_id: str
    source: str
    created_at: int
    updated_at: int
