"""The transform step of qbo_sync: Invoiced records -> QuickBooks Online payloads, and
what to do with each (create / update / void / skip).

Invoices become QBO invoices and credit notes credit memos, line for line by the same
rules. A payment becomes a QBO payment of the cash received: it applies that cash to
invoices, applies credit memos where a credit note was applied on Invoiced, and applies
its convenience fee to a fee invoice of its own. Refunds become refund receipts; a credit
note's refund also spends its credit memo.

``plan_run`` plans a run a chunk of staged records at a time and stages the plan for the
load step; everything it calls below it is a pure function, without I/O.

Payloads refer to things that may not exist in QBO yet through placeholders such as
``{"$customer": "42"}`` or ``{"$item": "sku:delivery"}``; the load step swaps them for
QBO ids once customers, items and accounts exist. Hashes are taken over the payload
with placeholders, so they do not change when QBO ids do.

Money is handled as ``Decimal`` rounded half-up to the cent; pandas does the per-line work.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from accounting_sync.common.job import CHUNK, SyncJob, record_key
from accounting_sync.common.values import (
    CENT,
    HALF_CENT,
    RecordRejected,
    as_float,
    chunked,
    content_hash,
    money,
    name_key,
    number,
)
from accounting_sync.config.settings import SyncSettings, field_limits, name_replacements, write_off_item
from accounting_sync.qbo_import.transform import is_imported, recorded_from_quickbooks
from accounting_sync.qbo_sync.globaltax import tax_plan
from accounting_sync.store.idmap import ORIGIN_INVOICED, ORIGIN_QUICKBOOKS

log = logging.getLogger(__name__)

UNIT_PRICE_STEP = Decimal("0.0000001")  # QBO keeps up to 7 decimals of a unit price
REFUND_KINDS = ("refund", "refund_invoice", "refund_payment")
"""What a refund is written as: a refund receipt, and for a credit note's refund the
invoice and $0 payment that spend its credit memo."""
LINE_COLUMNS = ["invoice_id", "position", "name", "description", "quantity", "unit_cost", "catalog_item", "taxable"]


@dataclass
class Planned:
    """One QBO write the load step should make (or a reason not to)."""

    kind: str
    source_id: str
    action: str  # create | update | void | skip | unchanged | error
    document_number: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    hash: str | None = None
    reason: str | None = None
    hint: str | None = None
    code: str | None = None
    currency: str | None = None
    depends_on: list[str] = field(default_factory=list)
    tax_plan: dict[str, Any] | None = None  # what a VAT/GST company needs: globaltax.tax_plan

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Planned:
        return cls(**data)

    def decided(self, payload: dict[str, Any], mapped_hash: str | None) -> Planned:
        """Write ``payload``: create it, or update what was written unless it is unchanged."""
        self.payload, self.hash = payload, content_hash(payload)
        self.action = "create" if mapped_hash is None else ("update" if mapped_hash != self.hash else "unchanged")
        return self

    def refused(self, rejected: RecordRejected) -> Planned:
        """This plan turned into an error: why, how to fix it, and the code to report."""
        self.action, self.reason, self.hint, self.code = "error", str(rejected), rejected.hint, rejected.code
        return self


# -- values ---------------------------------------------------------------------------------


def txn_date(timestamp: Any) -> str:
    """Invoiced dates are UNIX timestamps; QBO wants the calendar date (UTC)."""
    try:
        return datetime.fromtimestamp(int(timestamp), tz=timezone.utc).date().isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        raise RecordRejected(f"date {timestamp!r} is not a valid date", "Set the document date on Invoiced.") from None


def before_start(timestamp: Any, settings: SyncSettings) -> bool:
    """Dated before the sync start date (the closed-books workaround)?"""
    return settings.sync_start_date is not None and date.fromisoformat(txn_date(timestamp)) < settings.sync_start_date


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def truncate(text: str | None, limit: int) -> str | None:
    """At most ``limit`` characters, without the control characters QBO's XML store rejects."""
    if text is None:
        return None
    text = CONTROL_CHARACTERS.sub("", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clean_name(name: str | None, limit: int) -> str:
    """QBO names may not hold ':' tab or newline and are limited in length."""
    text = CONTROL_CHARACTERS.sub("", str(name or ""))
    for bad, good in name_replacements().items():
        text = text.replace(bad, good)
    text = re.sub(r"\s+", " ", text).strip()
    return text[:limit].rstrip()


def short_doc_number(number: str, limit: int) -> str:
    """DocNumber of at most ``limit`` characters: kept as is when it fits, otherwise the
    start of the number plus a hash of the whole, so two long numbers never collide."""
    if len(number) <= limit:
        return number
    digest = hashlib.sha1(number.encode()).hexdigest()[:8].upper()
    return f"{number[: limit - 9]}~{digest}"


# -- customers ------------------------------------------------------------------------------


def customer_payload(customer: dict[str, Any], display_name: str) -> dict[str, Any]:
    limits = field_limits()
    payload: dict[str, Any] = {
        "DisplayName": display_name,
        "CompanyName": clean_name(customer.get("name"), limits["company_name"]) or None,
        "Notes": f"Invoiced customer {customer['id']}" + (f" ({customer['number']})" if customer.get("number") else ""),
    }
    email = (customer.get("email") or "").strip()
    if email and "@" in email and "." in email.split("@")[-1] and len(email) <= limits["email"]:
        payload["PrimaryEmailAddr"] = {"Address": email}
    if customer.get("phone"):
        payload["PrimaryPhone"] = {"FreeFormNumber": truncate(str(customer["phone"]), limits["phone"])}
    address = {
        "Line1": truncate(customer.get("address1"), limits["address_line"]),
        "Line2": truncate(customer.get("address2"), limits["address_line"]),
        "City": truncate(customer.get("city"), limits["city"]),
        "CountrySubDivisionCode": truncate(customer.get("state"), limits["city"]),
        "PostalCode": truncate(customer.get("postal_code"), limits["postal_code"]),
        "Country": customer.get("country"),
    }
    address = {key: value for key, value in address.items() if value}
    if address:
        payload["BillAddr"] = address
    return {key: value for key, value in payload.items() if value is not None}


def disambiguated(name: str, customer: dict[str, Any], limit: int) -> str:
    suffix = f" ({customer.get('number') or customer['id']})"
    return clean_name(name[: limit - len(suffix)] + suffix, limit) if len(suffix) < limit else name


def display_names(
    customers: list[dict[str, Any]], taken: dict[str, str], policy: str
) -> dict[str, str]:
    """The QBO DisplayName of each new customer.

    ``taken`` maps the casefolded names already used by mapped customers to the Invoiced
    id that owns them. Under ``merge`` customers sharing a name share the QBO customer;
    under ``disambiguate`` the first one (lowest id, or the one mapped earlier) keeps the
    plain name and the others get their customer number appended.
    """
    limit = field_limits()["display_name"]
    owners = dict(taken)
    result: dict[str, str] = {}
    for customer in sorted(customers, key=lambda c: int(c["id"]) if str(c["id"]).isdigit() else str(c["id"])):
        plain = clean_name(customer.get("name"), limit) or f"Customer {customer.get('number') or customer['id']}"
        owner = owners.setdefault(name_key(plain), str(customer["id"]))
        if owner == str(customer["id"]) or policy == "merge":
            result[str(customer["id"])] = plain
        else:
            result[str(customer["id"])] = disambiguated(plain, customer, limit)
    return result


# -- items ----------------------------------------------------------------------------------


def item_key(name: str, catalog_item: str | None) -> str:
    return f"sku:{catalog_item}" if catalog_item else f"name:{name_key(name)}"


def lines_frame(invoices: list[dict[str, Any]], settings: SyncSettings) -> pd.DataFrame:
    """All line items of the given invoices as one table, cleaned for QBO."""
    limits = field_limits()
    rows = [
        {
            "invoice_id": str(invoice["id"]),
            "position": position,
            "name": line.get("name"),
            "description": line.get("description"),
            "quantity": line.get("quantity", 1),
            "unit_cost": line.get("unit_cost"),
            "catalog_item": line.get("catalog_item"),
            "taxable": line.get("taxable", True),
            "line_discounts": line.get("discounts") or [],
        }
        for invoice in invoices
        for position, line in enumerate(invoice.get("items") or [])
    ]
    frame = pd.DataFrame(rows, columns=[*LINE_COLUMNS, "line_discounts"])
    if frame.empty:
        return frame.assign(item_name=[], item_key=[])
    catalog = [str(value) if _present(value) else None for value in frame["catalog_item"]]
    names = [clean_name(str(n) if _present(n) else "", limits["item_name"]) for n in frame["name"]]
    item_names = [name or (sku or settings.generic_item_name) for name, sku in zip(names, catalog, strict=True)]
    frame["catalog_item"] = pd.Series(catalog, index=frame.index, dtype=object)
    frame["item_name"] = pd.Series(item_names, index=frame.index, dtype=object)
    frame["item_key"] = [item_key(n, c) for n, c in zip(item_names, catalog, strict=True)]
    frame["description"] = pd.Series(
        [truncate(str(d), limits["line_description"]) if _present(d) else None for d in frame["description"]],
        index=frame.index,
        dtype=object,
    )
    prepared = [_prepare(record) for record in frame.to_dict("records")]
    frame["qbo_line"] = pd.Series([p[0] for p in prepared], index=frame.index, dtype=object)
    frame["amount"] = pd.Series([p[1] for p in prepared], index=frame.index, dtype=object)
    frame["discount"] = pd.Series([p[2] for p in prepared], index=frame.index, dtype=object)
    frame["error"] = pd.Series([p[3] for p in prepared], index=frame.index, dtype=object)
    return frame


def _prepare(record: dict[str, Any]) -> tuple[dict[str, Any] | None, Decimal, Decimal, str | None]:
    """One line's QBO form, amount and discount, or why it cannot be written."""
    try:
        line, amount = qbo_line(record)
        discount = sum((money(d.get("amount", 0)) for d in record["line_discounts"]), Decimal(0))
    except RecordRejected as rejected:
        return None, Decimal(0), Decimal(0), str(rejected)
    return line, amount, discount, None


def group_lines(frame: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Prepared lines per invoice id, in their original order."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    if frame.empty:
        return grouped
    columns = ["invoice_id", "position", "item_key", "qbo_line", "amount", "discount", "error"]
    for record in frame[columns].sort_values(["invoice_id", "position"]).to_dict("records"):
        grouped.setdefault(record["invoice_id"], []).append(record)
    return grouped


def _present(value: Any) -> bool:
    """Not None, not NaN, not an empty string (pandas turns missing values into NaN)."""
    return value is not None and not (isinstance(value, float) and value != value) and value != ""


def qbo_line(row: Any) -> tuple[dict[str, Any], Decimal]:
    """A SalesItemLine whose Amount is exactly Qty x UnitPrice to the cent.

    Invoiced rounds quantity x unit cost half-up to the cent. When QBO could round the same
    product differently (a unit price finer than QBO keeps, or a product exactly half a
    cent off), the line becomes 1 x amount and the original quantity and price move to the
    description, so QBO never rejects it with 6070 and the total stays exact.
    """
    quantity = number(row["quantity"], "line quantity", missing="line quantity is missing")
    unit_cost = number(row["unit_cost"], "line unit_cost", missing="line unit_cost is missing")
    product = quantity * unit_cost
    amount = product.quantize(CENT, rounding=ROUND_HALF_UP)
    description = row["description"]
    too_fine = unit_cost != unit_cost.quantize(UNIT_PRICE_STEP)
    tie = product - product.quantize(CENT, rounding=ROUND_DOWN) == HALF_CENT
    if too_fine or tie:
        original = f"{row['quantity']} x {row['unit_cost']}"
        description = truncate(f"{original} - {description}" if description else original, 4000)
        quantity, unit_cost = Decimal(1), amount
    detail: dict[str, Any] = {
        "ItemRef": {"$item": row["item_key"]},
        "Qty": float(quantity),
        "UnitPrice": float(unit_cost),
        "TaxCodeRef": {"value": "TAX" if row["taxable"] else "NON"},
    }
    line: dict[str, Any] = {"DetailType": "SalesItemLineDetail", "Amount": as_float(amount), "SalesItemLineDetail": detail}
    if description:
        line["Description"] = description
    return line, amount


def setup_line(item_key: str, amount: Decimal, description: str) -> dict[str, Any]:
    """One untaxed line of ``amount`` on an item the sync books its own lines on."""
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": as_float(amount),
        "Description": description,
        "SalesItemLineDetail": {
            "ItemRef": {"$item": item_key},
            "Qty": 1,
            "UnitPrice": as_float(amount),
            "TaxCodeRef": {"value": "NON"},
        },
    }


# -- invoices -------------------------------------------------------------------------------


def is_written_off(invoice: dict[str, Any]) -> bool:
    """Bad debt as Invoiced means it: closed without being paid in full."""
    return invoice.get("status") == "bad_debt" or (
        bool(invoice.get("closed")) and not invoice.get("paid") and invoice.get("status") != "voided"
    )


def written_off_amount(invoice: dict[str, Any]) -> Decimal:
    if invoice.get("amount_written_off"):
        return money(invoice["amount_written_off"])
    return money(invoice.get("balance") or 0)


def applied_taxes(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The taxes Invoiced applied to a document: its own and its lines' (the tie-out reads them too)."""
    return [*(document.get("taxes") or []), *(t for line in document.get("items") or [] for t in line.get("taxes") or [])]


def invoice_payload(invoice: dict[str, Any], lines: list[dict[str, Any]], label: str = "invoice") -> dict[str, Any]:
    """A QBO invoice, or (``label`` "credit note") a credit memo: they share their lines."""
    limits = field_limits()
    if not lines:
        raise RecordRejected(f"the {label} has no line items", "Add at least one line item on Invoiced.")
    broken = next((line["error"] for line in lines if line["error"]), None)
    if broken:
        raise RecordRejected(broken, "Correct the line item on Invoiced.")
    qbo_lines: list[dict[str, Any]] = [line["qbo_line"] for line in lines]
    subtotal = sum((line["amount"] for line in lines), Decimal(0))
    line_discounts = sum((line["discount"] for line in lines), Decimal(0))
    discount = line_discounts + sum((money(d.get("amount", 0)) for d in invoice.get("discounts") or []), Decimal(0))
    applied = applied_taxes(invoice)
    tax = sum((money(t.get("amount", 0)) for t in applied), Decimal(0))
    # An inclusive rate's tax is already in the line amounts (Invoiced marks the lines down by it).
    added = tax - sum((money(t.get("amount", 0)) for t in applied if (t.get("tax_rate") or {}).get("inclusive")),
                      Decimal(0))
    if discount:
        qbo_lines.append(
            {
                "DetailType": "DiscountLineDetail",
                "Amount": as_float(discount),
                "DiscountLineDetail": {"PercentBased": False, "DiscountAccountRef": {"$account": "discount"}},
            }
        )
    total = money(invoice.get("total"))
    if subtotal - discount + added != total:
        raise RecordRejected(
            f"lines, discounts and taxes add up to {subtotal - discount + added} but the {label} total is {total}",
            f"Check the {label}'s line amounts, discounts and taxes on Invoiced.",
        )
    number = str(invoice.get("number") or invoice["id"])
    doc_number = short_doc_number(number, limits["doc_number"])
    note = f"Invoiced {label} {invoice['id']}" + (f", number {number}" if doc_number != number else "")
    payload: dict[str, Any] = {
        "CustomerRef": {"$customer": str(invoice["customer"])},
        "DocNumber": doc_number,
        "TxnDate": txn_date(invoice["date"]),
        "Line": qbo_lines,
        "PrivateNote": truncate(note, limits["private_note"]),
        "ApplyTaxAfterDiscount": True,
    }
    if invoice.get("due_date"):
        payload["DueDate"] = txn_date(invoice["due_date"])
    if invoice.get("notes"):
        payload["CustomerMemo"] = {"value": truncate(str(invoice["notes"]), limits["customer_memo"])}
    if tax:
        payload["TxnTaxDetail"] = {"TxnTaxCodeRef": {"$taxcode": "default"}, "TotalTax": as_float(tax)}
    return payload


OPTIONAL_REFS = (("ClassRef", "$class", "class_metadata_key"), ("DepartmentRef", "$department", "location_metadata_key"),
                 ("SalesTermRef", "$term", "terms_metadata_key"))
"""QBO references set through Invoiced metadata: the field, its placeholder (resolved by
name in ``setup``) and the setting naming the metadata key."""


def optional_fields(document: dict[str, Any], settings: SyncSettings, kind: str = "invoice") -> dict[str, Any]:
    """The QBO fields Invoiced has no field for, from the document's metadata under the keys
    the settings name: class, location, terms (invoices only: a credit memo is never due)
    and up to three custom fields."""
    metadata = document.get("metadata") or {}

    def value(key: str) -> str:
        return str(metadata.get(key) or "").strip() if key else ""

    fields: dict[str, Any] = {
        field: {placeholder: value(getattr(settings, setting))}
        for field, placeholder, setting in OPTIONAL_REFS
        if value(getattr(settings, setting)) and (field != "SalesTermRef" or kind == "invoice")
    }
    limit = field_limits()["custom_field"]
    custom = [{"DefinitionId": definition, "Name": spec.qbo_name, "Type": "StringType",
               "StringValue": truncate(value(spec.metadata_key), limit)}
              for definition, spec in settings.custom_field_ids() if value(spec.metadata_key)]
    if custom:
        fields["CustomField"] = custom
    return fields


def plan_invoice(
    invoice: dict[str, Any],
    lines: list[dict[str, Any]],
    settings: SyncSettings,
    mapped_hash: str | None,
    mapped_origin: str | None,
    kind: str = "invoice",
) -> Planned:
    """Decide what to do with one Invoiced invoice (or, with ``kind``, credit note)."""
    source_id = str(invoice["id"])
    number = str(invoice.get("number") or source_id)
    planned = Planned(kind, source_id, "skip", document_number=number)
    planned.currency = str(invoice.get("currency") or "").upper() or None
    if mapped_origin == "quickbooks" or is_imported(invoice):
        planned.reason = f"imported from QuickBooks: QuickBooks is the master of this {kind_label(kind)}"
        return planned
    if not (settings.write_credit_notes if kind == "credit_note" else settings.write_invoices):
        planned.reason = f"writing {kind.replace('_', ' ')}s to QuickBooks is turned off"
        return planned
    if invoice.get("draft"):
        planned.reason = "draft"
        return planned
    if invoice.get("status") == "voided":
        planned.action = "void" if mapped_hash is not None else "skip"
        planned.reason = None if mapped_hash is not None else "voided before it was ever synced"
        return planned
    try:
        if before_start(invoice.get("date"), settings):
            planned.reason = f"dated before the sync start date {settings.sync_start_date}"
            return planned
        if invoice.get("customer") in (None, ""):
            raise RecordRejected(f"the {kind_label(kind)} has no customer", "Assign a customer on Invoiced.")
        payload = {**invoice_payload(invoice, lines, kind_label(kind)), **optional_fields(invoice, settings, kind)}
    except RecordRejected as rejected:
        return planned.refused(rejected)
    planned.payload, planned.hash = payload, content_hash(payload)
    planned.tax_plan = tax_plan(invoice)
    planned.depends_on = [f"customer:{invoice['customer']}", *sorted({f"item:{line['item_key']}" for line in lines})]
    if mapped_hash is None:
        planned.action = "create"
    elif mapped_hash != planned.hash:
        planned.action = "update"
    else:
        planned.action = "unchanged"
    return planned


def kind_label(kind: str) -> str:
    """How a plan kind reads in messages and notes: ``credit_note`` -> "credit note"."""
    return kind.replace("_", " ")


# -- credit notes ---------------------------------------------------------------------------


def is_write_off(credit_note: dict[str, Any]) -> bool:
    """The credit note Invoiced issues for a bad-debt write-off (every line on its write-off
    item): it reaches QBO as the write-off of its invoice, never as a credit memo too."""
    items = credit_note.get("items") or []
    return bool(items) and all(line.get("catalog_item") == write_off_item() for line in items)


def plan_credit_note(
    credit_note: dict[str, Any],
    lines: list[dict[str, Any]],
    settings: SyncSettings,
    mapped_hash: str | None,
    mapped_origin: str | None,
) -> Planned:
    """An issued credit note becomes a credit memo, by the rules of invoices."""
    if is_write_off(credit_note):
        number = str(credit_note.get("number") or credit_note["id"])
        return Planned("credit_note", str(credit_note["id"]), "skip", number,
                       reason="a bad-debt write-off: written to QuickBooks with its invoice")
    return plan_invoice(credit_note, lines, settings, mapped_hash, mapped_origin, kind="credit_note")


def plan_bad_debt(invoice: dict[str, Any]) -> Planned | None:
    """The credit memo that writes an invoice off in QBO, or None when not bad debt."""
    if not is_written_off(invoice):
        return None
    try:
        return _bad_debt_plan(invoice)
    except RecordRejected as rejected:
        return Planned("bad_debt", str(invoice["id"]), "error", str(invoice.get("number") or "")).refused(rejected)


def _bad_debt_plan(invoice: dict[str, Any]) -> Planned | None:
    amount = written_off_amount(invoice)
    if amount <= 0:
        return None
    payload = {
        "CustomerRef": {"$customer": str(invoice["customer"])},
        "TxnDate": txn_date(invoice.get("date_bad_debt") or invoice.get("updated_at") or invoice["date"]),
        "Line": [
            setup_line("setup:bad_debt", amount, f"Bad debt write-off of invoice {invoice.get('number') or invoice['id']}")
        ],
        "PrivateNote": f"Invoiced bad debt of invoice {invoice['id']}",
    }
    return Planned(
        "bad_debt",
        str(invoice["id"]),
        "create",
        document_number=str(invoice.get("number") or invoice["id"]),
        payload=payload,
        hash=content_hash(payload),
        currency=str(invoice.get("currency") or "").upper() or None,
        depends_on=[f"invoice:{invoice['id']}"],
    )


# -- payments -------------------------------------------------------------------------------


def split_total(payment: dict[str, Any], split_type: str) -> Decimal:
    """What a payment's ``applied_to`` splits of one type add up to."""
    splits = (s for s in payment.get("applied_to") or [] if s.get("type") == split_type)
    return sum((money(s.get("amount", 0)) for s in splits), Decimal(0))


@dataclass(frozen=True)
class CreditApplied:
    """A credit note applied to an invoice by a payment's ``credit_note`` split."""

    credit_note: str
    invoice: str
    amount: Decimal


def _linked(amount: Decimal, placeholder: str, key: str, txn_type: str) -> dict[str, Any]:
    return {"Amount": as_float(amount), "LinkedTxn": [{"TxnId": {placeholder: key}, "TxnType": txn_type}]}


def payment_payload(
    payment: dict[str, Any],
    invoice_amounts: list[tuple[str, Decimal]],
    settings: SyncSettings,
    credits: list[CreditApplied] | None = None,
) -> dict[str, Any]:
    """A QBO Payment for the cash actually received: invoice lines, a credit memo line and
    an invoice line per credit note applied (they cancel out, as QBO applies credit), a line
    paying the fee invoice of a convenience fee; customer credit stays unapplied."""
    limits = field_limits()
    applied = sum((amount for _, amount in invoice_amounts), Decimal(0))
    unapplied = split_total(payment, "credit")
    fee = split_total(payment, "convenience_fee")
    total = applied + unapplied + fee
    method = str(payment.get("method") or "other")
    lines = [_linked(amount, "$invoice", invoice_id, "Invoice") for invoice_id, amount in invoice_amounts]
    for credit in credits or []:
        lines.append(_linked(credit.amount, "$invoice", credit.invoice, "Invoice"))
        lines.append(_linked(credit.amount, "$credit_note", credit.credit_note, "CreditMemo"))
    if fee:
        lines.append(_linked(fee, "$fee", str(payment["id"]), "Invoice"))
    payload: dict[str, Any] = {
        "CustomerRef": {"$customer": str(payment["customer"])},
        "TotalAmt": as_float(total),
        "TxnDate": txn_date(payment["date"]),
        "Line": lines,
        "DepositToAccountRef": {"$deposit": settings.deposit_account_for(method, payment.get("currency"))},
        "PrivateNote": truncate(f"Invoiced payment {payment['id']} ({method})", limits["private_note"]),
    }
    if payment.get("reference"):
        payload["PaymentRefNum"] = truncate(str(payment["reference"]), limits["payment_ref_num"])
    return payload


def plan_payment(
    payment: dict[str, Any],
    invoices: dict[str, dict[str, Any] | None],
    settings: SyncSettings,
    mapped_hash: str | None,
    *,
    from_quickbooks: bool = False,
    write_offs: frozenset[str] = frozenset(),
) -> Planned:
    """Decide what to do with one Invoiced payment. ``invoices`` holds what is known of
    each invoice the payment was applied to (None when unknown); ``from_quickbooks`` says
    the payment was recorded from QBO (the id map or our marker), so writing it would echo;
    ``write_offs`` are credit notes of bad-debt write-offs, applied by their own path."""
    source_id = str(payment["id"])
    planned = Planned("payment", source_id, "skip", document_number=str(payment.get("reference") or source_id))
    planned.currency = str(payment.get("currency") or "").upper() or None
    if _payment_not_written(payment, settings, mapped_hash, from_quickbooks, planned):
        return planned
    try:
        splits = _invoice_splits(payment, invoices, settings)
        credits = _credit_splits(payment, invoices, settings, write_offs)
        kept = {"credit", "convenience_fee"}
        if not splits and not credits and not any(s.get("type") in kept for s in payment.get("applied_to") or []):
            planned.reason = "nothing to write: no cash or credit note applied to a synced invoice"
            return planned
        payload = payment_payload(payment, splits, settings, credits)
    except RecordRejected as rejected:
        return planned.refused(rejected)
    planned.depends_on = [
        f"customer:{payment['customer']}",
        *(f"invoice:{i}" for i in sorted({i for i, _ in splits} | {c.invoice for c in credits})),
        *(f"credit_note:{c}" for c in sorted({c.credit_note for c in credits})),
        *([f"fee:{source_id}"] if split_total(payment, "convenience_fee") else []),
    ]
    return planned.decided(payload, mapped_hash)


def plan_fee(payment: dict[str, Any], paid: Planned, mapped_hash: str | None) -> Planned | None:
    """The fee invoice of a payment's convenience fee: written when its payment is, voided
    with it. ``paid`` is the payment's own plan."""
    fee = split_total(payment, "convenience_fee")
    source_id = str(payment["id"])
    reference = payment.get("reference") or source_id
    number = short_doc_number(f"FEE-{reference}", field_limits()["doc_number"])
    planned = Planned("fee", source_id, "void", number, currency=paid.currency)
    if payment.get("voided"):
        return planned if mapped_hash is not None else None
    if not fee or paid.action not in {"create", "update", "unchanged"}:
        return None
    payload = {
        "CustomerRef": {"$customer": str(payment["customer"])},
        "DocNumber": number,
        "TxnDate": txn_date(payment["date"]),
        "Line": [setup_line("setup:convenience_fee", fee, f"Convenience fee of Invoiced payment {reference}")],
        "PrivateNote": f"Invoiced convenience fee of payment {source_id}",
    }
    planned.depends_on = [f"customer:{payment['customer']}", "item:setup:convenience_fee"]
    return planned.decided(payload, mapped_hash)


def _payment_not_written(
    payment: dict[str, Any], settings: SyncSettings, mapped_hash: str | None, from_quickbooks: bool, planned: Planned
) -> bool:
    """Whether the payment is settled without a payload: skipped (saying why) or voided."""
    if not settings.write_payments:
        planned.reason = "writing payments to QuickBooks is turned off"
    elif from_quickbooks:
        planned.reason = "recorded from QuickBooks: not written back"
    elif payment.get("voided"):
        planned.action = "void" if mapped_hash is not None else "skip"
        planned.reason = None if mapped_hash is not None else "voided before it was ever synced"
    else:
        return False
    return True


def _invoice_splits(
    payment: dict[str, Any], invoices: dict[str, dict[str, Any] | None], settings: SyncSettings
) -> list[tuple[str, Decimal]]:
    """What the payment applies to each invoice written from the sync start date on;
    ``RecordRejected`` for what QBO could not take."""
    splits: list[tuple[str, Decimal]] = []
    for split in payment.get("applied_to") or []:
        if split.get("type") != "invoice":
            continue
        invoice_id = str(split.get("invoice"))
        invoice = invoices.get(invoice_id)
        if invoice is not None and invoice.get("status") == "voided":
            raise RecordRejected(
                f"the payment is applied to invoice {invoice.get('number') or invoice_id}, which is voided",
                "Remove the application on Invoiced, or reissue the invoice.",
            )
        if invoice is not None and before_start(invoice.get("date"), settings):
            continue
        splits.append((invoice_id, money(split.get("amount"))))
    if payment.get("customer") in (None, ""):
        raise RecordRejected("the payment has no customer", "Assign the payment to a customer on Invoiced.")
    if any(amount <= 0 for _, amount in splits):
        raise RecordRejected("the payment applies a zero or negative amount to an invoice")
    return splits


def _credit_splits(
    payment: dict[str, Any],
    invoices: dict[str, dict[str, Any] | None],
    settings: SyncSettings,
    write_offs: frozenset[str],
) -> list[CreditApplied]:
    """The credit notes the payment applies to invoices written from the sync start date
    on; a credit note applied to the customer's credit balance stays unapplied credit."""
    credits = []
    for split in payment.get("applied_to") or []:
        if split.get("type") != "credit_note" or split.get("document_type") != "invoice":
            continue
        credit_note, invoice_id = str(split.get("credit_note")), str(split.get("invoice"))
        invoice = invoices.get(invoice_id)
        if credit_note in write_offs or (invoice is not None and before_start(invoice.get("date"), settings)):
            continue
        credits.append(CreditApplied(credit_note, invoice_id, money(split.get("amount"))))
    if any(credit.amount <= 0 for credit in credits):
        raise RecordRejected("the payment applies a zero or negative credit note amount to an invoice")
    return credits


# -- refunds --------------------------------------------------------------------------------


def plan_refund(refund: dict[str, Any], settings: SyncSettings, mapped_hash: str | None) -> Planned:
    """A refund becomes a refund receipt out of the deposit account of its method, on the
    refund product, so cash in QBO matches the bank."""
    source_id = str(refund["id"])
    planned = Planned("refund", source_id, "skip", document_number=source_id)
    planned.currency = str(refund.get("currency") or "").upper() or None
    try:
        planned.reason = _refund_skipped(refund, settings)
        if planned.reason is not None:
            return planned
        if refund.get("customer") in (None, ""):
            raise RecordRejected("the refund has no customer")
        amount = money(refund.get("amount"))
        if amount <= 0:
            raise RecordRejected("the refund amount is zero or negative")
        method = str(refund.get("method") or "other")
        payload = {
            "CustomerRef": {"$customer": str(refund["customer"])},
            "TxnDate": txn_date(refund["date"]),
            "DepositToAccountRef": {"$deposit": settings.deposit_account_for(method, refund.get("currency"))},
            "Line": [setup_line("setup:refund", amount, f"Refund{refunded_of(refund)}")],
            "PrivateNote": f"Invoiced refund {source_id}{refunded_of(refund)} ({method})",
        }
    except RecordRejected as rejected:
        return planned.refused(rejected)
    planned.depends_on = [f"customer:{refund['customer']}", "item:setup:refund"]
    return planned.decided(payload, mapped_hash)


def _refund_skipped(refund: dict[str, Any], settings: SyncSettings) -> str | None:
    if not settings.write_payments:
        return "writing payments to QuickBooks is turned off"
    if refund.get("status") not in (None, "succeeded"):
        return f"the refund is {refund.get('status')}"
    if before_start(refund.get("date"), settings):
        return f"dated before the sync start date {settings.sync_start_date}"
    return None


def refunded_of(refund: dict[str, Any]) -> str:
    """What was refunded, as the memo says it."""
    if refund.get("credit_note") is not None:
        return f" of credit note {refund['credit_note']}"
    return f" of payment {refund['payment']}" if refund.get("payment") is not None else ""


def plan_credit_refund(refund: dict[str, Any], receipt: Planned, hashes: dict[str, str | None]) -> list[Planned]:
    """A credit note's refund also spends its credit memo. A refund receipt takes no credit,
    so the refunded amount is carried to the customer by a refund invoice (on the refund
    product, so the receipt and the invoice cancel out in income) and a $0 payment applies
    the credit memo to it: cash goes out, the memo's remaining credit matches Invoiced's
    balance. ``hashes`` holds the mapped hash of the ``refund_invoice`` and ``refund_payment``."""
    if refund.get("credit_note") is None or receipt.action not in {"create", "update", "unchanged"}:
        return []
    source_id, note = receipt.source_id, str(refund["credit_note"])
    amount, customer = money(refund["amount"]), {"$customer": str(refund["customer"])}
    number = short_doc_number(f"REFUND-{source_id}", field_limits()["doc_number"])
    invoice = Planned("refund_invoice", source_id, "create", number, currency=receipt.currency)
    invoice.depends_on = [f"customer:{refund['customer']}", "item:setup:refund"]
    invoice.decided({
        "CustomerRef": customer,
        "DocNumber": number,
        "TxnDate": receipt.payload["TxnDate"],
        "Line": [setup_line("setup:refund", amount, f"Refund of credit note {note}")],
        "PrivateNote": f"Invoiced refund {source_id} of credit note {note}: carries it to the credit memo",
    }, hashes.get("refund_invoice"))
    applied = Planned("refund_payment", source_id, "create", number, currency=receipt.currency)
    applied.depends_on = [f"customer:{refund['customer']}", f"credit_note:{note}", f"refund_invoice:{source_id}"]
    applied.decided({
        "CustomerRef": customer,
        "TotalAmt": 0,
        "TxnDate": receipt.payload["TxnDate"],
        "Line": [_linked(amount, "$refund_invoice", source_id, "Invoice"),
                 _linked(amount, "$credit_note", note, "CreditMemo")],
        "PrivateNote": f"Invoiced refund {source_id}: applies credit note {note}",
    }, hashes.get("refund_payment"))
    return [invoice, applied]


# -- the step: plan a run ------------------------------------------------------------------


def plan_run(job: SyncJob) -> dict[str, int]:
    """Plan every write, a chunk of staged records at a time; the plan is staged for the
    load step. Only a small brief of each invoice, and the ids of write-off credit notes,
    are kept for the payments that follow."""
    summary: Counter[str] = Counter()
    item_names: dict[str, str] = {}
    briefs: dict[str, dict[str, Any]] = {}
    write_offs: set[str] = set()
    for chunk in chunked((payload for _, payload in job.staged("extract", "invoice")), CHUNK):
        _stage_plans(job, _plan_invoices(job, chunk, item_names), summary)
        briefs.update({str(i["id"]): {k: i.get(k) for k in ("id", "number", "date", "status")} for i in chunk})
    for chunk in chunked((payload for _, payload in job.staged("extract", "credit_note")), CHUNK):
        _stage_plans(job, _plan_credit_notes(job, chunk, item_names), summary)
        write_offs.update(str(c["id"]) for c in chunk if is_write_off(c))
    for chunk in chunked((payload for _, payload in job.staged("extract", "payment")), CHUNK):
        _stage_plans(job, _plan_payments(job, chunk, briefs, frozenset(write_offs)), summary)
    for chunk in chunked((payload for _, payload in job.staged("extract", "refund")), CHUNK):
        _stage_plans(job, _plan_refunds(job, chunk), summary)
    job.stage("transform", "items", [("names", item_names)])
    log.info("Planned: %s", dict(sorted(summary.items())))
    return dict(summary)


def _stage_plans(job: SyncJob, plans: list[Planned], summary: Counter[str]) -> None:
    job.stage("transform", "plan", ((f"{p.kind}:{record_key(p.source_id)}", p.to_dict()) for p in plans))
    summary.update(f"{p.kind}.{p.action}" for p in plans)


def _plan_invoices(job: SyncJob, invoices: list[dict[str, Any]], item_names: dict[str, str]) -> list[Planned]:
    ids = [str(i["id"]) for i in invoices]
    invoice_map = job.store.get_mappings(job.company, "invoice", ids)
    written_off = job.store.get_mappings(job.company, "bad_debt_payment", ids)
    frame = lines_frame(invoices, job.settings)
    lines_by_invoice = group_lines(frame)
    if not frame.empty:
        item_names.update(zip(frame["item_key"], frame["item_name"], strict=True))
    plans: list[Planned] = []
    for invoice in invoices:
        mapped = invoice_map.get(str(invoice["id"]))
        plan = plan_invoice(
            invoice,
            lines_by_invoice.get(str(invoice["id"]), []),
            job.settings,
            mapped.content_hash if mapped else None,
            mapped.origin if mapped else None,
        )
        plans.append(plan)
        if plan.action in {"create", "update", "unchanged"} or (mapped and mapped.origin == ORIGIN_INVOICED):
            bad_debt = plan_bad_debt(invoice)
            if bad_debt is not None and plan.action != "skip":
                if bad_debt.source_id in written_off:
                    bad_debt.action = "unchanged"  # written off exactly once
                plans.append(bad_debt)
    return plans


def _hash(mapped: Any) -> str | None:
    return mapped.content_hash if mapped else None


def _plan_credit_notes(job: SyncJob, credit_notes: list[dict[str, Any]], item_names: dict[str, str]) -> list[Planned]:
    mapped = job.store.get_mappings(job.company, "credit_note", [str(c["id"]) for c in credit_notes])
    frame = lines_frame(credit_notes, job.settings)
    lines = group_lines(frame)
    if not frame.empty:
        item_names.update(zip(frame["item_key"], frame["item_name"], strict=True))
    return [
        plan_credit_note(
            c,
            lines.get(str(c["id"]), []),
            job.settings,
            _hash(mapped.get(str(c["id"]))),
            mapped[str(c["id"])].origin if str(c["id"]) in mapped else None,
        )
        for c in credit_notes
    ]


def _plan_refunds(job: SyncJob, refunds: list[dict[str, Any]]) -> list[Planned]:
    ids = [str(r["id"]) for r in refunds]
    mapped = {kind: job.store.get_mappings(job.company, kind, ids) for kind in REFUND_KINDS}
    plans: list[Planned] = []
    for refund in refunds:
        hashes = {kind: _hash(mapped[kind].get(str(refund["id"]))) for kind in REFUND_KINDS}
        receipt = plan_refund(refund, job.settings, hashes["refund"])
        plans.extend([receipt, *plan_credit_refund(refund, receipt, hashes)])
    return plans


def _plan_payments(
    job: SyncJob, payments: list[dict[str, Any]], briefs: dict[str, dict[str, Any]], write_offs: frozenset[str]
) -> list[Planned]:
    ids = [str(p["id"]) for p in payments]
    payment_map = job.store.get_mappings(job.company, "payment", ids)
    fee_map = job.store.get_mappings(job.company, "fee", ids)
    plans = []
    for payment in payments:
        mapped = payment_map.get(str(payment["id"]))
        applied = {str(s.get("invoice")) for s in payment.get("applied_to") or [] if s.get("invoice") is not None}
        from_quickbooks = (mapped is not None and mapped.origin == ORIGIN_QUICKBOOKS) or recorded_from_quickbooks(
            payment
        )
        paid = plan_payment(
            payment,
            {i: briefs.get(i) for i in applied},
            job.settings,
            _hash(mapped),
            from_quickbooks=from_quickbooks,
            write_offs=write_offs,
        )
        fee = plan_fee(payment, paid, _hash(fee_map.get(str(payment["id"]))))
        plans.extend([paid] if fee is None else [fee, paid])
    return plans
