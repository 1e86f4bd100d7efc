"""Records to Invoiced JSON, honouring ``include``, ``exclude`` and ``expand``.

Properties the service hides by default (``voided``, ``amount_paid``, ``applied_to``...)
appear only when asked for with ``include=``, exactly as clients must ask the real API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.invoiced.calc import credit_note_status
from sandbox.invoiced.money import money_json, quantity_json
from sandbox.invoiced.records import (
    AppliedRate,
    Contact,
    Coupon,
    CreditNote,
    Customer,
    Document,
    Invoice,
    Item,
    LineItem,
    Payment,
    Refund,
    Split,
    TaxRate,
)
from sandbox.invoiced.store import Store

PORTAL_URL = "https://sandbox.invoiced.invalid"
RATE_KEYS = {"discount": "coupon", "tax": "tax_rate", "shipping": "shipping_rate"}


def _names(raw: str | None) -> frozenset[str]:
    return frozenset(part.strip() for part in (raw or "").split(",") if part.strip())


@dataclass(frozen=True)
class Rendering:
    """The per-request output options."""

    include: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()
    expand: frozenset[str] = frozenset()

    @classmethod
    def from_query(cls, params: dict[str, str]) -> Rendering:
        return cls(
            include=_names(params.get("include")),
            exclude=_names(params.get("exclude")),
            expand=_names(params.get("expand")),
        )


def _money_or_none(value: Any) -> int | float | None:
    return None if value is None else money_json(value)


class Renderer:
    """Serializes records of one account; must be used while holding the store lock."""

    def __init__(self, store: Store, rendering: Rendering) -> None:
        self.store = store
        self.rendering = rendering
        self._by_type: dict[type, Callable[[Any], tuple[dict[str, Any], dict[str, Any]]]] = {
            Customer: self._customer,
            Contact: self._contact,
            Item: self._item,
            TaxRate: self._tax_rate,
            Coupon: self._coupon,
            Invoice: self._invoice,
            CreditNote: self._credit_note,
            Payment: self._payment,
            Refund: self._refund,
        }

    def render(self, record: Any) -> dict[str, Any]:
        visible, hidden = self._by_type[type(record)](record)
        for name in self.rendering.include & hidden.keys():
            visible[name] = hidden[name]
        for name in self.rendering.exclude:
            visible.pop(name, None)
        return visible

    def _customer_ref(self, customer_id: int | None) -> Any:
        if customer_id is not None and "customer" in self.rendering.expand:
            customer = self.store.customers.get(customer_id)
            if customer is not None:
                return self._customer(customer)[0]
        return customer_id

    def _customer(self, c: Customer) -> tuple[dict[str, Any], dict[str, Any]]:
        visible = {
            "id": c.id,
            "object": "customer",
            "name": c.name,
            "number": c.number,
            "email": c.email,
            "type": c.type,
            "autopay": c.autopay,
            "autopay_delay_days": None,
            "payment_terms": c.payment_terms,
            "payment_source": None,
            "attention_to": c.attention_to,
            "address1": c.address1,
            "address2": c.address2,
            "city": c.city,
            "state": c.state,
            "postal_code": c.postal_code,
            "country": c.country,
            "language": c.language,
            "currency": c.currency,
            "tax_id": c.tax_id,
            "phone": c.phone,
            "notes": c.notes,
            "taxable": c.taxable,
            "taxes": list(c.taxes),
            "chase": c.chase,
            "chasing_cadence": None,
            "next_chase_step": None,
            "credit_hold": c.credit_hold,
            "credit_limit": _money_or_none(c.credit_limit),
            "owner": None,
            "parent_customer": c.parent_customer,
            "active": c.active,
            "avalara_entity_use_code": c.avalara_entity_use_code,
            "avalara_exemption_number": c.avalara_exemption_number,
            "ach_gateway": None,
            "cc_gateway": None,
            "sign_up_page": None,
            "sign_up_url": None,
            "statement_pdf_url": f"{PORTAL_URL}/statements/{c.id}/pdf",
            "created_at": c.created_at,
            "updated_at": c.updated_at,
            "metadata": dict(c.metadata),
        }
        return visible, {"credit_balance": money_json(c.credit_balance)}

    def _contact(self, c: Contact) -> tuple[dict[str, Any], dict[str, Any]]:
        visible = {
            "id": c.id,
            "object": "contact",
            "name": c.name,
            "title": c.title,
            "email": c.email,
            "phone": c.phone,
            "primary": c.primary,
            "sms_enabled": c.sms_enabled,
            "department": c.department,
            "address1": c.address1,
            "address2": c.address2,
            "city": c.city,
            "state": c.state,
            "postal_code": c.postal_code,
            "country": c.country,
            "created_at": c.created_at,
            "updated_at": c.updated_at,
        }
        return visible, {}

    def _item(self, i: Item) -> tuple[dict[str, Any], dict[str, Any]]:
        visible = {
            "id": i.id,
            "object": "item",
            "name": i.name,
            "currency": i.currency,
            "unit_cost": money_json(i.unit_cost),
            "description": i.description,
            "type": i.type,
            "taxable": i.taxable,
            "taxes": list(i.taxes),
            "discountable": i.discountable,
            "gl_account": i.gl_account,
            "avalara_tax_code": i.avalara_tax_code,
            "avalara_location_code": i.avalara_location_code,
            "created_at": i.created_at,
            "updated_at": i.updated_at,
            "metadata": dict(i.metadata),
        }
        return visible, {}

    def _tax_rate(self, t: TaxRate) -> tuple[dict[str, Any], dict[str, Any]]:
        return tax_rate_json(t), {}

    def _coupon(self, c: Coupon) -> tuple[dict[str, Any], dict[str, Any]]:
        return coupon_json(c), {}

    def _document_common(self, d: Document) -> dict[str, Any]:
        return {
            "id": d.id,
            "customer": self._customer_ref(d.customer_id),
            "name": d.name,
            "number": d.number,
            "currency": d.currency,
            "draft": d.draft,
            "closed": d.closed,
            "paid": d.paid,
            "date": d.date,
            "purchase_order": d.purchase_order,
            "items": [line_json(line) for line in d.items],
            "notes": d.notes,
            "subtotal": money_json(d.subtotal),
            "discounts": [rate_json(rate) for rate in d.discounts],
            "taxes": [rate_json(rate) for rate in d.taxes],
            "shipping": [rate_json(rate) for rate in d.shipping],
            "total": money_json(d.total),
            "balance": money_json(d.balance),
            "created_at": d.created_at,
            "updated_at": d.updated_at,
            "metadata": dict(d.metadata),
        }

    @staticmethod
    def _document_hidden(d: Document) -> dict[str, Any]:
        return {
            "voided": d.voided,
            "date_voided": d.date_voided,
            "sent": d.sent,
            "viewed": d.viewed,
            "amount_credited": money_json(d.amount_credited),
        }

    def _invoice(self, inv: Invoice) -> tuple[dict[str, Any], dict[str, Any]]:
        visible = self._document_common(inv)
        visible.update(
            {
                "object": "invoice",
                "status": self.store.invoice_status(inv),
                "autopay": inv.autopay,
                "attempt_count": 0,
                "next_payment_attempt": None,
                "subscription": None,
                "due_date": inv.due_date,
                "payment_terms": inv.payment_terms,
                "ship_to": None,
                "payment_plan": None,
                "payment_source": None,
                "url": f"{PORTAL_URL}/invoices/{inv.id}",
                "payment_url": f"{PORTAL_URL}/invoices/{inv.id}/payment",
                "pdf_url": f"{PORTAL_URL}/invoices/{inv.id}/pdf",
                "csv_url": f"{PORTAL_URL}/invoices/{inv.id}/csv",
            }
        )
        hidden = self._document_hidden(inv)
        hidden.update(
            {
                "date_paid": inv.date_paid,
                "date_bad_debt": inv.date_bad_debt,
                "amount_paid": money_json(inv.amount_paid),
                "amount_written_off": money_json(inv.amount_written_off),
                "last_sent": inv.last_sent,
            }
        )
        return visible, hidden

    def _credit_note(self, cn: CreditNote) -> tuple[dict[str, Any], dict[str, Any]]:
        visible = self._document_common(cn)
        visible.update(
            {
                "object": "credit_note",
                "status": credit_note_status(cn),
                "invoice": cn.invoice_id,
                "url": f"{PORTAL_URL}/credit_notes/{cn.id}",
                "pdf_url": f"{PORTAL_URL}/credit_notes/{cn.id}/pdf",
            }
        )
        hidden = self._document_hidden(cn)
        hidden.update(
            {
                "amount_applied_to_invoice": money_json(cn.amount_applied_to_invoice),
                "amount_refunded": money_json(cn.amount_refunded),
            }
        )
        return visible, hidden

    def _payment(self, p: Payment) -> tuple[dict[str, Any], dict[str, Any]]:
        visible = {
            "id": p.id,
            "object": "payment",
            "customer": self._customer_ref(p.customer_id),
            "date": p.date,
            "currency": p.currency,
            "amount": money_json(p.amount),
            "balance": money_json(p.balance),
            "matched": None,
            "voided": p.voided,
            "method": p.method,
            "ach_sender_id": p.ach_sender_id,
            "reference": p.reference,
            "source": p.source,
            "notes": p.notes,
            "charge": None,
            "surcharge_percentage": 0,
            "pdf_url": f"{PORTAL_URL}/payments/{p.id}/pdf",
            "created_at": p.created_at,
            "updated_at": p.updated_at,
            "metadata": dict(p.metadata),
        }
        hidden = {
            "applied_to": [split_json(split) for split in p.splits],
            "applied": p.balance == 0,
            "date_voided": p.date_voided,
        }
        return visible, hidden


    def _refund(self, r: Refund) -> tuple[dict[str, Any], dict[str, Any]]:
        """The legacy Transaction object (DOCS `_payments.md.erb` at 82fa67c^); ``payment``
        names the payment whose application was refunded (the code's ``payment_id``)."""
        visible = {
            "id": r.id,
            "object": "transaction",
            "type": "refund",
            "customer": self._customer_ref(r.customer_id),
            "invoice": r.invoice_id,
            "credit_note": r.credit_note_id,
            "payment": r.payment_id,
            "parent_transaction": r.parent_transaction,
            "date": r.date,
            "method": r.method,
            "status": "succeeded",
            "gateway": None,
            "gateway_id": None,
            "payment_source": None,
            "currency": r.currency,
            "amount": money_json(r.amount),
            "notes": r.notes,
            "failure_reason": None,
            "pdf_url": f"{PORTAL_URL}/payments/{r.id}/pdf",
            "created_at": r.created_at,
            "updated_at": r.updated_at,
            "metadata": dict(r.metadata),
        }
        return visible, {}


def tax_rate_json(t: TaxRate) -> dict[str, Any]:
    return {
        "id": t.id,
        "object": "tax_rate",
        "name": t.name,
        "currency": t.currency,
        "value": quantity_json(t.value),
        "is_percent": t.is_percent,
        "inclusive": t.inclusive,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "metadata": dict(t.metadata),
    }


def coupon_json(c: Coupon) -> dict[str, Any]:
    return {
        "id": c.id,
        "object": "coupon",
        "name": c.name,
        "currency": c.currency,
        "value": quantity_json(c.value),
        "is_percent": c.is_percent,
        "exclusive": c.exclusive,
        "expiration_date": c.expiration_date,
        "max_redemptions": c.max_redemptions,
        "duration": 0,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "metadata": dict(c.metadata),
    }


def rate_json(rate: AppliedRate) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": rate.id,
        "object": rate.kind,
        "amount": money_json(rate.amount),
        RATE_KEYS[rate.kind]: rate.rate,
    }
    if rate.kind == "discount":
        body["expires"] = None
    return body


def line_json(line: LineItem) -> dict[str, Any]:
    return {
        "id": line.id,
        "object": "line_item",
        "catalog_item": line.catalog_item,
        "type": line.type,
        "name": line.name,
        "description": line.description,
        "quantity": quantity_json(line.quantity),
        "unit_cost": quantity_json(line.unit_cost),
        "amount": money_json(line.amount),
        "discountable": line.discountable,
        "discounts": [rate_json(rate) for rate in line.discounts],
        "taxable": line.taxable,
        "taxes": [rate_json(rate) for rate in line.taxes],
        "plan": None,
        "metadata": dict(line.metadata),
    }


def split_json(split: Split) -> dict[str, Any]:
    """Shapes of the service's TransactionNormalizer for each application type."""
    body: dict[str, Any] = {"id": split.id, "type": split.type, "amount": money_json(split.amount)}
    if split.type == "document_adjustment" and split.credit_note_id is not None:
        body.update(document_type="credit_note", credit_note=split.credit_note_id)
        return body
    if split.credit_note_id is not None:
        body["credit_note"] = split.credit_note_id
    if split.invoice_id is not None:
        body["invoice"] = split.invoice_id
        if split.type != "invoice":
            body["document_type"] = "invoice"
    return body
