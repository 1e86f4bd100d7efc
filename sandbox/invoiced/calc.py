"""Document arithmetic and derived state, after the service's InvoiceCalculator.

Line amounts, discounts and taxes are computed in the same order and with the same
bases as the real service, so totals agree to the cent with what Invoiced would show.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from sandbox.invoiced.errors import invalid
from sandbox.invoiced.money import ZERO, cents, cents_up, to_decimal
from sandbox.invoiced.records import AppliedRate, CreditNote, Document, Invoice

DAY_SECONDS = 86400
_EARLY_DISCOUNT_TERMS = re.compile(r"(\d+)% (\d+) net (\d+)", re.IGNORECASE)
_NET_TERMS = re.compile(r"net[\s-](\d+)", re.IGNORECASE)


def line_amount(quantity: Decimal, unit_cost: Decimal) -> Decimal:
    return cents(quantity * unit_cost)


def rate_amount(rate: AppliedRate, base: Decimal) -> tuple[Decimal, Decimal]:
    """Amount of one applied rate on ``base``, plus the markdown an inclusive tax causes."""
    if rate.rate is None:
        return rate.amount, ZERO
    value = to_decimal(rate.rate.get("value", 0))
    inclusive = rate.kind == "tax" and bool(rate.rate.get("inclusive"))
    if not rate.rate.get("is_percent"):
        amount = cents(value)
        return amount, amount if inclusive else ZERO
    fraction = value / 100
    if inclusive:
        amount = cents_up(base * fraction / (1 + fraction))
        return amount, amount
    return cents(max(ZERO, base) * fraction), ZERO


def apply_rates(rates: Iterable[AppliedRate], base: Decimal) -> tuple[Decimal, Decimal]:
    """Price every rate in place; returns (sum of amounts, sum of inclusive markdowns)."""
    total = markdown = ZERO
    for rate in rates:
        rate.amount, rate_markdown = rate_amount(rate, base)
        total += rate.amount
        markdown += rate_markdown
    return total, markdown


def _rate_ids(rates: Iterable[AppliedRate]) -> set[str]:
    return {str(rate.rate["id"]) for rate in rates if rate.rate is not None and "id" in rate.rate}


def calculate_document(doc: Document) -> None:
    """Recompute line amounts, applied rates, subtotal and total of a document."""
    subtotal = total = discounted_subtotal = discount_excluded = tax_excluded = ZERO
    line_tax_ids: set[str] = set()
    for line in doc.items:
        line.amount = line_amount(line.quantity, line.unit_cost)
        if not line.discountable:
            discount_excluded += line.amount
        if not line.taxable:
            tax_excluded += line.amount
        line_discounts, _ = apply_rates(line.discounts, line.amount)
        line_taxes, markdown = apply_rates(line.taxes, line.amount - line_discounts)
        line.amount -= markdown
        discounted_subtotal += line.amount - line_discounts
        subtotal += line.amount
        total += line.amount - line_discounts + line_taxes
        line_tax_ids |= _rate_ids(line.taxes)

    doc_discounts, _ = apply_rates(doc.discounts, discounted_subtotal - discount_excluded)
    doc_taxes, markdown = apply_rates(doc.taxes, discounted_subtotal - doc_discounts - tax_excluded)
    shipping, _ = apply_rates(doc.shipping, discounted_subtotal - doc_discounts)
    subtotal -= markdown
    total += doc_taxes - doc_discounts + shipping - markdown

    duplicated = sorted(line_tax_ids & _rate_ids(doc.taxes))
    if duplicated:
        raise invalid(
            f"This document cannot be saved because a tax rate (ID: {duplicated[0]}) is being applied to a line "
            "item and the subtotal. Please make sure the tax rate is applied only once to save this document.",
            "items",
        )
    if total < 0:
        raise invalid("Total is invalid", "total")
    doc.subtotal = subtotal
    doc.total = total


def due_date_from_terms(payment_terms: str | None, date: int) -> int | None:
    """``NET 30`` / ``2% 10 NET 30`` give a due date; other terms (``Due on receipt``) none."""
    if not payment_terms:
        return None
    match = _EARLY_DISCOUNT_TERMS.search(payment_terms)
    days = match.group(3) if match else None
    if days is None:
        net = _NET_TERMS.search(payment_terms)
        days = net.group(1) if net else None
    return date + int(days) * DAY_SECONDS if days is not None else None


def is_written_off(invoice: Invoice) -> bool:
    """Status ``bad_debt`` needs both flags; a merely closed unpaid invoice keeps its status."""
    return invoice.closed and invoice.date_bad_debt is not None


def invoice_status(invoice: Invoice, now: int) -> str:
    """First match wins, as in the service's InvoiceStatusGenerator."""
    if invoice.voided:
        return "voided"
    if invoice.draft:
        return "draft"
    if invoice.paid:
        return "paid"
    if is_written_off(invoice):
        return "bad_debt"
    if invoice.due_date and invoice.due_date < now:
        return "past_due"
    if invoice.viewed:
        return "viewed"
    if invoice.sent:
        return "sent"
    return "not_sent"


def credit_note_status(credit_note: CreditNote) -> str:
    if credit_note.voided:
        return "voided"
    if credit_note.draft:
        return "draft"
    if credit_note.paid:
        return "paid"
    if credit_note.closed:
        return "closed"
    return "open"


def settle_invoice(invoice: Invoice, *, creating: bool, closed_in_request: bool, paid_on: int) -> None:
    """Derive balance, ``paid``, auto-close and ``date_paid`` after any change.

    ``closed_in_request`` is true when the request itself set ``closed``, which the
    service then leaves alone; ``paid_on`` is the latest payment date (or now).
    """
    was_paid = invoice.paid
    invoice.balance = (
        ZERO
        if invoice.voided
        else invoice.total - invoice.amount_paid - invoice.amount_credited - invoice.amount_adjusted
    )
    settled = invoice.balance <= 0 and not invoice.draft and not invoice.voided
    if creating:
        invoice.paid = settled and not invoice.closed
    else:
        invoice.paid = settled and not is_written_off(invoice)
    if invoice.paid and (creating or not closed_in_request):
        invoice.closed = True
    if not invoice.paid:
        invoice.date_paid = None
    elif creating or not was_paid:
        invoice.date_paid = paid_on


def settle_credit_note(credit_note: CreditNote, *, closed_in_request: bool) -> None:
    credit_note.balance = (
        ZERO
        if credit_note.voided
        else credit_note.total
        - credit_note.amount_applied_to_invoice
        - credit_note.amount_credited
        - credit_note.amount_refunded
        - credit_note.amount_adjusted
    )
    credit_note.paid = credit_note.balance <= 0 and not credit_note.draft and not credit_note.voided
    if credit_note.paid and not closed_in_request:
        credit_note.closed = True
