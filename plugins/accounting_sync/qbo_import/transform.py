"""QuickBooks Online records -> Invoiced request bodies (pure functions, no I/O).

QuickBooks is the master of what qbo_import brings over: these functions turn a QBO
Customer or Invoice into the Invoiced body that shows the same thing (what a run does
with each record is decided in ``plan``). Money is ``Decimal`` to the cent, so an
imported invoice totals exactly QBO's ``TotalAmt``.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from accounting_sync.common.values import CENT, RecordRejected, as_float, money, number
from accounting_sync.quickbooks.client import live_name

ACCOUNTING_SYSTEM = "quickbooks_online"
METADATA_KEY = "quickbooks_invoice_id"
CREDIT_MEMO_KEY = "quickbooks_credit_memo_id"  # Invoiced credit note (and its applications): the QBO credit memo
IMPORTED_KEYS = (METADATA_KEY, CREDIT_MEMO_KEY)
"""Invoiced metadata keys that mark a record as imported from QuickBooks."""
PAYMENT_KEY = "qbo_import_key"  # Invoiced payment metadata: the write that recorded it
ACCOUNTING_SOURCE = "accounting_system"  # Invoiced payment source of records from an accounting system
VOIDED = "voided"
NAME_LIMIT = 255  # Invoiced customer names
COUNTRY_ALIASES = {"USA": "US", "UNITED STATES": "US", "CAN": "CA", "CANADA": "CA", "GBR": "GB", "UK": "GB",
                   "UNITED KINGDOM": "GB", "AUS": "AU", "AUSTRALIA": "AU"}


def idempotency_key(company: str, action: str, qbo_id: str, fingerprint: str) -> str:
    """Same record, same content, same key: a retried write is answered, not repeated."""
    digest = hashlib.sha256(f"{company}|{action}|{qbo_id}|{fingerprint}".encode()).hexdigest()[:40]
    return f"qbo-import-{digest}"


def timestamp(day: str) -> int:
    """A QBO date (``YYYY-MM-DD``) as Invoiced's UNIX time, at noon UTC so every time zone
    shows the same calendar day."""
    return int(datetime.combine(date.fromisoformat(day[:10]), time(12), timezone.utc).timestamp())


def updated_at(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(record["MetaData"]["LastUpdatedTime"])


# -- customers ------------------------------------------------------------------------------


def first_email(record: dict[str, Any]) -> str | None:
    """QBO accepts several addresses separated by commas; Invoiced takes one."""
    raw = str((record.get("PrimaryEmailAddr") or {}).get("Address") or "")
    email = raw.replace(";", ",").split(",")[0].strip()
    local, _, domain = email.partition("@")
    return email if local and "." in domain and " " not in email else None


def country_code(value: str | None) -> str | None:
    """Invoiced wants ISO-3166 alpha-2; QBO holds free text."""
    text = (value or "").strip().upper()
    code = COUNTRY_ALIASES.get(text, text)
    return code if len(code) == 2 and code.isalpha() else None


def person_name(record: dict[str, Any]) -> str:
    given = " ".join(str(record.get(key) or "").strip() for key in ("GivenName", "FamilyName")).strip()
    return given or live_name(record).strip()


def customer_type(record: dict[str, Any]) -> str:
    """A QBO customer with a person's name and no company is a person on Invoiced."""
    is_person = any(record.get(key) for key in ("GivenName", "FamilyName")) and not record.get("CompanyName")
    return "person" if is_person else "company"


def currency_code(record: dict[str, Any]) -> str | None:
    """A QBO record's ``CurrencyRef`` as Invoiced writes currencies (lower case); QBO gives
    customers one even without multicurrency (the home currency)."""
    value = (record.get("CurrencyRef") or {}).get("value")
    return str(value).lower() if value else None


def customer_body(record: dict[str, Any]) -> dict[str, Any]:
    """The Invoiced customer fields QBO is the master of (empty values are left alone):
    the currency too, so documents created on Invoiced default to the QBO customer's."""
    name = live_name(record).strip()[:NAME_LIMIT]  # never the "(deleted)" QBO adds
    if not name:
        raise RecordRejected("the QuickBooks customer has no display name", "Give the customer a name in QuickBooks.")
    address = record.get("BillAddr") or {}
    body: dict[str, Any] = {
        "name": name,
        "type": customer_type(record),
        "email": first_email(record),
        "phone": str((record.get("PrimaryPhone") or {}).get("FreeFormNumber") or "").strip() or None,
        "address1": address.get("Line1"),
        "address2": ", ".join(str(address[key]) for key in ("Line2", "Line3", "Line4", "Line5") if address.get(key))
        or None,
        "city": address.get("City"),
        "state": address.get("CountrySubDivisionCode"),
        "postal_code": address.get("PostalCode"),
        "country": country_code(address.get("Country")),
        "currency": currency_code(record),
    }
    return {key: value for key, value in body.items() if value not in (None, "")}


def accounting_mark(accounting_id: str) -> dict[str, str]:
    """Invoiced's "imported from an accounting system" mark. It only records a mapping
    (``accounting_sync_status``); it does not change a payment's ``source``."""
    return {"accounting_system": ACCOUNTING_SYSTEM, "accounting_id": str(accounting_id)}


def new_customer_body(record: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Create-only fields: a number traceable to QBO and the imported-from mark."""
    return {**body, "number": f"QBO-{record['Id']}", **accounting_mark(record["Id"])}


def contact_body(record: dict[str, Any]) -> dict[str, Any] | None:
    """The customer's person as the primary contact; nothing to add without an email."""
    email = first_email(record)
    if email is None:
        return None
    return {"name": person_name(record)[:NAME_LIMIT], "email": email, "primary": True}


# -- invoices -------------------------------------------------------------------------------


def invoice_item(line: dict[str, Any]) -> dict[str, Any] | None:
    """One Invoiced line item, or None for QBO's subtotal and discount lines."""
    kind = line.get("DetailType")
    amount = money(line.get("Amount", 0))
    description = line.get("Description")
    if kind == "SalesItemLineDetail":
        detail = line.get("SalesItemLineDetail") or {}
        name, quantity, price = (detail.get("ItemRef") or {}).get("name"), detail.get("Qty"), detail.get("UnitPrice")
    elif kind == "GroupLineDetail":
        detail = line.get("GroupLineDetail") or {}
        name, quantity, price = (detail.get("GroupItemRef") or {}).get("name"), detail.get("Quantity"), None
    elif kind == "DescriptionOnly" and description:
        return {"name": "", "description": description, "quantity": 1, "unit_cost": 0}
    else:
        return None
    item: dict[str, Any] = {"name": str(name or ""), "description": description, "quantity": 1,
                            "unit_cost": as_float(amount)}
    if quantity is not None and price is not None:
        qty, unit = number(quantity, "quantity"), number(price, "unit price")
        if (qty * unit).quantize(CENT, rounding=ROUND_HALF_UP) == amount:
            item.update(quantity=float(qty), unit_cost=float(unit))
        else:
            item["description"] = f"{quantity} x {price}" + (f" - {description}" if description else "")
    return {key: value for key, value in item.items() if value is not None}


def invoice_body(record: dict[str, Any], customer_id: str) -> dict[str, Any]:
    """The Invoiced invoice that shows a QBO invoice line for line, to QBO's total."""
    body = document_body(record, customer_id, "invoice", METADATA_KEY)
    if record.get("DueDate"):
        body["due_date"] = timestamp(record["DueDate"])
    return body


def credit_note_body(record: dict[str, Any], customer_id: str) -> dict[str, Any]:
    """The Invoiced credit note that shows a QBO credit memo, by the rules of invoices; its
    own metadata key marks it as imported, so qbo_sync never writes it back."""
    return document_body(record, customer_id, "credit memo", CREDIT_MEMO_KEY)


def document_body(record: dict[str, Any], customer_id: str, label: str, marker: str) -> dict[str, Any]:
    """An Invoiced document that shows a QBO sales form (``label``) line for line, to QBO's
    total, marked with the QBO id under ``marker``.

    Tax and discounts arrive as flat amounts with Invoiced's tax engine off, the way
    Invoiced's own accounting readers load documents.
    """
    items: list[dict[str, Any]] = []
    subtotal = discount = Decimal(0)
    for line in record.get("Line") or []:
        if line.get("DetailType") == "DiscountLineDetail":
            discount += money(line.get("Amount", 0))
            continue
        item = invoice_item(line)
        if item is not None:
            items.append(item)
            subtotal += money(line.get("Amount", 0))
    if not items:
        raise RecordRejected(f"the QuickBooks {label} has no lines to import",
                             f"Add a line to the {label} in QuickBooks.")
    tax = money((record.get("TxnTaxDetail") or {}).get("TotalTax") or 0)
    total = money(record.get("TotalAmt"))
    if record.get("GlobalTaxCalculation") == "TaxInclusive" and subtotal - discount == total:
        tax = Decimal(0)  # line amounts given gross: the tax is already inside them
    # Otherwise (QBO keeps a TaxInclusive line's net Amount beside its TaxInclusiveAmt) the
    # net lines plus QBO's tax give the total, and Invoiced shows the same tax.
    if subtotal - discount + tax != total:
        raise RecordRejected(
            f"the lines ({subtotal}), discount ({discount}) and tax ({tax}) do not add up to the QuickBooks "
            f"total {total}",
            f"Check the {label}'s lines in QuickBooks; bundles and inclusive tax must add up to the total.",
            "total_mismatch",
        )
    body: dict[str, Any] = {
        "customer": int(customer_id),
        "number": str(record.get("DocNumber") or f"QBO-{record['Id']}"),
        "date": timestamp(record["TxnDate"]),
        "items": items,
        "discounts": [{"amount": as_float(discount)}] if discount else [],
        "taxes": [{"amount": as_float(tax)}] if tax else [],
        "calculate_taxes": False,
        "metadata": {marker: str(record["Id"])},
    }
    if currency := currency_code(record):
        body["currency"] = currency
    if (record.get("CustomerMemo") or {}).get("value"):
        body["notes"] = str(record["CustomerMemo"]["value"])
    return body


def new_invoice_body(record: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    return {**body, **accounting_mark(record["Id"])}


def is_voided(record: dict[str, Any]) -> bool:
    """QBO keeps a voided invoice with every amount zeroed (and "Voided" in its note)."""
    return money(record.get("TotalAmt", 0)) == 0 and money(record.get("Balance", 0)) == 0


def payment_body(
    record: dict[str, Any], invoice: dict[str, Any], amount: Decimal, quickbooks_payments: list[str], key: str
) -> dict[str, Any]:
    """An Invoiced payment that says three times that it came from QBO: ``source`` (the
    accounting mark alone leaves Invoiced's default ``keyed``), the mark, and our metadata
    marker, which qbo_sync recognises even if the id map never learnt of the payment. ``key``
    (the write's idempotency key) is kept in the metadata too, to find the payment again
    when Invoiced's answer is lost."""
    reference = ", ".join(quickbooks_payments) or str(record["Id"])
    applied = [{"type": "invoice", "invoice": invoice["id"], "amount": as_float(amount)}]
    notes = f"Recorded in QuickBooks Online against invoice {record.get('DocNumber') or record['Id']}"
    return _from_quickbooks(record, invoice, amount, applied, reference, notes, {METADATA_KEY: str(record["Id"]),
                                                                                PAYMENT_KEY: key})


def application_body(
    record: dict[str, Any], credit_note: dict[str, Any], invoice_id: str, amount: Decimal, key: str
) -> dict[str, Any]:
    """The $0 Invoiced payment that applies an imported credit note to an invoice, as QBO
    applied the credit memo (Invoiced applies credit notes through a payment's
    ``credit_note`` split); marked as from QuickBooks like ``payment_body``."""
    applied = [{"type": "credit_note", "credit_note": credit_note["id"], "invoice": int(invoice_id),
                "document_type": "invoice", "amount": as_float(amount)}]
    memo = str(record.get("DocNumber") or record["Id"])
    return _from_quickbooks(record, credit_note, Decimal(0), applied, f"credit memo {memo}",
                            f"Credit memo {memo} applied in QuickBooks Online",
                            {CREDIT_MEMO_KEY: str(record["Id"]), PAYMENT_KEY: key})


def _from_quickbooks(
    record: dict[str, Any], document: dict[str, Any], amount: Decimal, applied: list[dict[str, Any]],
    reference: str, notes: str, metadata: dict[str, str],
) -> dict[str, Any]:
    return {
        "customer": document["customer"],
        "amount": as_float(amount),
        "currency": document.get("currency"),
        "date": int(updated_at(record).timestamp()),
        "method": "other",
        "reference": f"QuickBooks {reference}"[:255],
        "notes": notes,
        "applied_to": applied,
        "source": ACCOUNTING_SOURCE,
        "metadata": metadata,
        **accounting_mark(reference),
    }


def credit_applications(record: dict[str, Any], payments: dict[str, dict[str, Any]]) -> dict[str, Decimal]:
    """Where QBO applied a credit memo: the amount per QBO invoice. QBO applies one through
    a Payment with a line linking the memo and lines linking invoices; when that payment
    pays several invoices, the memo's credit goes to them in line order (our reading: QBO
    nets the lines and does not say which invoice took the credit)."""
    memo_id = str(record["Id"])
    applied: dict[str, Decimal] = {}
    for payment_id in linked_payments(record):
        lines = (payments.get(payment_id) or {}).get("Line") or []
        credit = sum((money(line.get("Amount", 0)) for line in lines if _links(line, "CreditMemo", memo_id)),
                     Decimal(0))
        for line in lines:
            invoice = next((str(link["TxnId"]) for link in line.get("LinkedTxn") or []
                            if link.get("TxnType") == "Invoice"), None)
            if invoice is None or credit <= 0:
                continue
            take = min(credit, money(line.get("Amount", 0)))
            applied[invoice] = applied.get(invoice, Decimal(0)) + take
            credit -= take
    return applied


def _links(line: dict[str, Any], txn_type: str, txn_id: str) -> bool:
    return any(link.get("TxnType") == txn_type and str(link.get("TxnId")) == txn_id
               for link in line.get("LinkedTxn") or [])


def recorded_from_quickbooks(payment: dict[str, Any]) -> bool:
    """Whether an Invoiced payment stands for money received in QBO: our marker, or a
    ``source`` only an accounting sync sets (ours or Invoiced's own integration)."""
    return is_imported(payment) or payment.get("source") == ACCOUNTING_SOURCE


def is_imported(record: dict[str, Any]) -> bool:
    """Whether an Invoiced record carries one of the marks qbo_import puts on what it writes."""
    metadata = record.get("metadata") or {}
    return any(metadata.get(key) for key in IMPORTED_KEYS)


def linked_payments(record: dict[str, Any]) -> list[str]:
    return sorted(str(link["TxnId"]) for link in record.get("LinkedTxn") or [] if link.get("TxnType") == "Payment")
