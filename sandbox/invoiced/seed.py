"""The demo account (``POST /_sandbox/seed``, ``--seed-demo``): deterministic, edge cases on purpose.

Built through the same operations as the API, so every record obeys the API's rules.
Only timestamps depend on when it runs: invoice dates spread over the 12 months before now.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sandbox.invoiced.catalog import COUPONS, ITEMS, TAX_RATES, create_pricing
from sandbox.invoiced.credits import write_off_invoice
from sandbox.invoiced.customers import create_contact, create_customer
from sandbox.invoiced.documents import INVOICES, create_document, update_document, void_document
from sandbox.invoiced.money import cents
from sandbox.invoiced.payments import create_payment, void_payment
from sandbox.invoiced.records import Invoice
from sandbox.invoiced.store import Store

SEED = 20240601
DAY = 86400

COMPANY_WORDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Wonka", "Cyberdyne",
    "Soylent", "Tyrell", "Gringotts", "Oscorp", "Massive Dynamic", "Aperture", "Black Mesa", "Dunder Mifflin",
    "Prestige Worldwide", "Sterling Cooper", "Pied Piper", "Bluth", "Monsters", "Nakatomi", "Virtucon",
)  # fmt: skip
COMPANY_SUFFIXES = ("Inc", "LLC", "Ltd", "Corp", "Partners", "Group", "Co")
CITIES = (
    ("Austin", "TX", "78701"),
    ("Denver", "CO", "80202"),
    ("Portland", "OR", "97205"),
    ("Chicago", "IL", "60601"),
    ("Boston", "MA", "02108"),
    ("Seattle", "WA", "98101"),
)
TERMS = ("NET 30", "NET 15", "NET 45", "Due on receipt", None)
DUPLICATED_NAME = "Acme Supplies"
LONG_NAME = (
    "The Extraordinarily Long-Named International Consolidated Widget Manufacturing "
    "and Distribution Company of North America Holdings"
)
PUNCTUATED_NAME = "Smith: Plumbing\tand Heating"
CATALOG = (
    ("consulting", "Consulting hours", 150, "service", True),
    ("design", "Design work", 120, "service", True),
    ("support-basic", "Basic support plan", 49, "service", True),
    ("support-premium", "Premium support plan", 199, "service", True),
    ("training", "On-site training day", 1200, "service", True),
    ("widget", "Widget", 12.5, "product", True),
    ("gadget", "Gadget", 35, "product", True),
    ("sprocket", "Sprocket", 3.75, "product", True),
    ("gizmo", "Gizmo", 89.99, "product", True),
    ("cable", "Cable, 2m", 7.2, "product", True),
    ("license", "Software license", 499, "product", False),
    ("hosting", "Hosting (monthly)", 79, "service", True),
    ("setup", "Setup fee", 250, "service", False),
    ("shipping", "Shipping and handling", 15, "shipping", False),
    ("travel", "Travel expenses", 0, "expense", False),
    ("paper", "Copy paper, case", 45, "product", True),
    ("toner", "Toner cartridge", 65.5, "product", True),
    ("audit", "Annual audit", 2500, "service", True),
    ("migration", "Data migration", 900, "service", True),
    ("maintenance", "Maintenance visit", 180, "service", True),
)

@dataclass(frozen=True)
class Locale:
    """A demo account billing like a business of one country: its currency, its tax rates
    and which rates each invoice gets (by invoice index, cycling; each entry is the
    invoice's rates and its first line's own rates). ``currencies`` bills customers in
    other currencies, by customer index (cycling, None: the account's)."""

    currency: str
    rates: tuple[dict[str, Any], ...]
    taxes: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]
    currencies: tuple[str | None, ...] = (None,)
    foreign_invoices: str | None = None  # every 9th invoice of a home-currency customer is in it


US_RATES = ({"id": "sales-tax", "name": "Sales Tax", "value": 8.25, "is_percent": True},)
LOCALES = {
    "us": Locale("usd", US_RATES, ()),
    "gb": Locale("gbp", currencies=("gbp",), rates=(
        {"id": "vat", "name": "VAT", "value": 20, "is_percent": True},
        {"id": "vat-reduced", "name": "Reduced VAT", "value": 5, "is_percent": True},
    ), taxes=((("vat",), ()), ((), ("vat-reduced",)), ((), ()), (("vat",), ()))),
    "ca": Locale("cad", currencies=("cad",), rates=(
        {"id": "gst", "name": "GST", "value": 5, "is_percent": True},
        {"id": "hst-on", "name": "HST ON", "value": 13, "is_percent": True},
        {"id": "pst-bc", "name": "PST BC", "value": 7, "is_percent": True},
    ), taxes=((("gst",), ()), (("hst-on",), ()), (("gst", "pst-bc"), ()), ((), ()))),
    "au": Locale("aud", currencies=("aud",), rates=(
        {"id": "gst", "name": "GST", "value": 10, "is_percent": True, "inclusive": True},
    ), taxes=((("gst",), ()), (("gst",), ()), ((), ()))),
    "us-multicurrency": Locale("usd", US_RATES, (), (None, "eur", None, "cad"), "eur"),
}
"""Demo accounts by name (``POST /_sandbox/seed`` with ``{"locale": ...}``); "us" is the default."""

# Invoice scenarios and how many of the 200 invoices get each.
SCENARIOS = (
    ("draft", 15),
    ("not_sent", 15),
    ("sent", 20),
    ("past_due", 43),
    ("paid", 45),
    ("paid_twice", 10),
    ("partly_paid", 27),
    ("bad_debt", 8),
    ("closed_unpaid", 7),
    ("voided", 10),
)


def _customer_payloads(rng: random.Random, locale: Locale) -> list[dict[str, Any]]:
    names = [DUPLICATED_NAME] * 3 + [LONG_NAME, PUNCTUATED_NAME]
    while len(names) < 50:
        candidate = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_SUFFIXES)}"
        if candidate not in names:
            names.append(candidate)
    payloads = []
    for index, name in enumerate(names):
        city, state, postal_code = rng.choice(CITIES)
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:20] or "customer"
        payloads.append(
            {
                "name": name,
                "email": f"billing{index + 1}@{slug}.example.com",
                "phone": f"+1-555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                "address1": f"{rng.randint(1, 9999)} Market Street",
                "city": city,
                "state": state,
                "postal_code": postal_code,
                "country": "US",
                "type": "person" if index % 9 == 0 else "company",
                "payment_terms": rng.choice(TERMS),
                "metadata": {"segment": rng.choice(("smb", "mid", "enterprise"))},
            }
        )
        currency = locale.currencies[index % len(locale.currencies)]
        if currency:
            payloads[-1]["currency"] = currency
    return payloads


def _line(rng: random.Random, index: int) -> dict[str, Any]:
    """Mostly catalog lines; every 11th has no name, every 67th a description over 4,000 chars."""
    if index % 3 == 0:
        line: dict[str, Any] = {
            "name": f"Custom work {index}",
            "quantity": rng.randint(1, 8),
            "unit_cost": rng.choice((75, 99.95, 310)),
        }
    else:
        item_id = rng.choice(CATALOG)[0]
        line = {"catalog_item": item_id, "quantity": rng.choice((1, 1, 2, 3, 0.5, 10))}
        if item_id == "travel":
            line["unit_cost"] = rng.choice((120.4, 385, 76.15))
    if index % 11 == 0:
        line = {
            "name": "",
            "description": "Miscellaneous",
            "quantity": 1,
            "unit_cost": rng.choice((20, 42.5)),
        }
    if index % 67 == 0:
        line["description"] = ("Long description for the accounting export. " * 100)[:4200]
    return line


def _invoice_payload(
    rng: random.Random, index: int, customer_id: int, scenario: str, now: int, locale: Locale = LOCALES["us"]
) -> dict[str, Any]:
    recent = scenario in ("draft", "not_sent", "sent")
    age_days = rng.randint(0, 10) if recent else rng.randint(60, 360)
    payload: dict[str, Any] = {
        "customer": customer_id,
        "date": now - age_days * DAY,
        "payment_terms": "NET 30",
        "items": [_line(rng, index * 3 + n) for n in range(rng.randint(1, 4))],
        "draft": scenario == "draft",
        "sent": scenario not in ("draft", "not_sent"),
        "metadata": {"demo_scenario": scenario},
    }
    if locale.taxes:
        document, first_line = locale.taxes[index % len(locale.taxes)]
        payload["taxes"] = list(document)
        payload["items"][0]["taxes"] = list(first_line)
    elif index % 5 == 0:
        payload["taxes"] = ["sales-tax"]
    if index % 7 == 0:
        payload["discounts"] = [{"coupon": "loyal10"}]
    if index % 13 == 0:
        payload["discount"] = 5
    if index % 40 == 7:
        payload["number"] = f"INV-LONG-REFERENCE-{index:06d}-X"
    return payload


def _pay(store: Store, invoice: Invoice, amount: Any, date: int, method: str) -> Any:
    return create_payment(
        store,
        {
            "customer": invoice.customer_id,
            "amount": str(amount),
            "date": date,
            "method": method,
            "currency": invoice.currency,
            "reference": f"REF-{invoice.number}",
            "applied_to": [{"type": "invoice", "invoice": invoice.id, "amount": str(amount)}],
        },
    )


def _settle_scenario(store: Store, rng: random.Random, invoice: Invoice, scenario: str) -> None:
    paid_on = invoice.date + rng.randint(5, 40) * DAY
    method = rng.choice(("check", "ach", "wire_transfer", "credit_card", "cash"))
    if scenario == "paid":
        _pay(store, invoice, invoice.balance, paid_on, method)
    elif scenario == "paid_twice":
        _pay(store, invoice, cents(invoice.balance / 2), paid_on, method)
        _pay(store, invoice, store.invoices[invoice.id].balance, paid_on + 7 * DAY, method)
    elif scenario == "partly_paid":
        _pay(store, invoice, cents(invoice.balance * rng.choice((3, 4, 5)) / 10), paid_on, method)
    elif scenario == "bad_debt":
        write_off_invoice(store, invoice.id)
    elif scenario == "closed_unpaid":
        update_document(store, INVOICES, invoice.id, {"closed": True})
    elif scenario == "voided":
        void_document(store, INVOICES, invoice.id)


def _special_payments(
    store: Store, rng: random.Random, customer_id: int, past_due: list[Invoice], now: int, locale: Locale
) -> None:
    """One payment split across two invoices, one voided, one with an unapplied remainder."""
    pair = [
        create_document(store, INVOICES, _invoice_payload(rng, 900 + n, customer_id, "past_due", now, locale))
        for n in (1, 2)
    ]
    create_payment(
        store,
        {
            "customer": customer_id,
            "amount": str(sum(invoice.balance for invoice in pair)),
            "method": "wire_transfer",
            "reference": "SPLIT-PAYMENT",
            "applied_to": [
                {"type": "invoice", "invoice": invoice.id, "amount": str(invoice.balance)} for invoice in pair
            ],
        },
    )
    voided, with_remainder = past_due[0], past_due[1]
    void_payment(store, _pay(store, voided, voided.balance, now - 3 * DAY, "check").id)
    create_payment(
        store,
        {
            "customer": with_remainder.customer_id,
            "amount": str(with_remainder.balance + 100),
            "method": "check",
            "currency": with_remainder.currency,
            "reference": "OVERPAID",
            "applied_to": [
                {"type": "invoice", "invoice": with_remainder.id, "amount": str(with_remainder.balance)}
            ],
        },
    )


def seed_demo(store: Store, locale_name: str = "us") -> None:
    rng = random.Random(SEED)
    locale = LOCALES[locale_name]
    with store.lock:
        now = store.now()
        for rate in locale.rates:
            create_pricing(store, TAX_RATES, dict(rate))
        create_pricing(
            store, COUPONS, {"id": "loyal10", "name": "Loyalty 10%", "value": 10, "is_percent": True}
        )
        for item_id, name, cost, item_type, taxable in CATALOG:
            create_pricing(
                store,
                ITEMS,
                {"id": item_id, "name": name, "unit_cost": cost, "type": item_type, "taxable": taxable},
            )
        customers = [create_customer(store, payload) for payload in _customer_payloads(rng, locale)]
        for customer in customers[:10]:
            create_contact(
                store,
                customer.id,
                {"name": f"Accounts at {customer.name[:40]}", "email": customer.email, "primary": True},
            )
        scenarios = [name for name, count in SCENARIOS for _ in range(count)]
        rng.shuffle(scenarios)
        past_due = []
        for index, scenario in enumerate(scenarios):
            customer = customers[index % len(customers)]
            payload = _invoice_payload(rng, index, customer.id, scenario, now, locale)
            if locale.foreign_invoices and index % 9 == 0 and customer.currency in (None, locale.currency):
                payload["currency"] = locale.foreign_invoices
            invoice = create_document(store, INVOICES, payload)
            _settle_scenario(store, rng, invoice, scenario)
            if scenario == "past_due":
                past_due.append(invoice)
        _special_payments(store, rng, customers[5].id, past_due, now, locale)
