"""A deterministic synthetic Invoiced account of any size, loaded through the sandbox's
bulk endpoint (the HTTP API would take longer than the sync being measured)."""

from __future__ import annotations

import random
import time
from typing import Any

import requests

WORDS = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Wonka", "Hooli", "Vandelay", "Tyrell",
         "Cyberdyne", "Soylent", "Aperture", "Oscorp", "Gringotts", "Monarch", "Duff", "Paper", "Bluth", "Prestige"]
SUFFIXES = ["Inc", "LLC", "Ltd", "Group", "Partners", "Supplies", "Studios", "Foods", "Labs", "Works"]


def load(invoiced_url: str, *, customers: int, items: int, invoices: int, payments: int, bad_debts: int,
         seed: int = 42, chunk: int = 5000) -> dict[str, Any]:
    """Create the data set; returns counts and the ids of what was created."""
    rng = random.Random(seed)
    post = _poster(invoiced_url)
    start = int(time.time()) - 200 * 86400
    customer_ids = post({"customers": [
        {"name": f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(SUFFIXES)}", "number": f"C-{n:06d}",
         "email": f"billing{n}@example.com", "phone": f"+1 555 {n:07d}", "address1": f"{n} Main Street",
         "city": "Springfield", "state": "IL", "postal_code": "62701", "country": "US"}
        for n in range(customers)
    ]})["customers"]
    item_ids = post({"items": [
        {"id": f"item-{n:04d}", "name": f"Service {n:04d}", "unit_cost": rng.randint(5, 500)} for n in range(items)
    ]})["items"]
    invoice_docs = []
    for n in range(invoices):
        lines = []
        for _ in range(rng.randint(1, 4)):
            item = rng.choice(item_ids)
            lines.append({"catalog_item": item, "name": f"Service {item[-4:]}", "quantity": rng.randint(1, 9),
                          "unit_cost": round(rng.uniform(5, 900), 2)})
        doc: dict[str, Any] = {"customer": rng.choice(customer_ids), "number": f"INV-{n:07d}",
                               "date": start + rng.randint(0, 180) * 86400, "items": lines}
        if n % 7 == 0:
            doc["discounts"] = [{"amount": 5}]
        if n % 5 == 0:
            doc["taxes"] = [{"amount": round(rng.uniform(1, 40), 2)}]
        invoice_docs.append(doc)
    invoice_ids: list[int] = []
    for offset in range(0, len(invoice_docs), chunk):
        invoice_ids += post({"invoices": invoice_docs[offset : offset + chunk]})["invoices"]
    totals = _totals(invoiced_url, invoice_ids)
    paid = rng.sample(invoice_ids, payments)
    payment_docs = []
    for n, invoice_id in enumerate(paid):
        customer, total = totals[invoice_id]
        amount = total if n % 4 else round(total / 2, 2)
        payment_docs.append({"customer": customer, "amount": amount, "method": rng.choice(["check", "ach", "wire_transfer"]),
                             "reference": f"P-{n:06d}", "date": start + 190 * 86400,
                             "applied_to": [{"type": "invoice", "invoice": invoice_id, "amount": amount}]})
    for offset in range(0, len(payment_docs), chunk):
        post({"payments": payment_docs[offset : offset + chunk]})
    unpaid = [i for i in invoice_ids if i not in set(paid)]
    session = requests.Session()
    for invoice_id in unpaid[:bad_debts]:
        session.post(f"{invoiced_url}/invoices/{invoice_id}/bad_debt", auth=(_key(invoiced_url), ""),
                     timeout=30).raise_for_status()
    return {"customers": customers, "items": items, "invoices": invoices, "payments": payments, "bad_debts": bad_debts,
            "invoice_ids": invoice_ids, "unpaid_ids": unpaid}


def _poster(invoiced_url: str) -> Any:
    def post(body: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(f"{invoiced_url}/_sandbox/bulk", json=body, timeout=600)
        response.raise_for_status()
        return dict(response.json())

    return post


def _key(invoiced_url: str) -> str:
    return str(requests.get(f"{invoiced_url}/_sandbox/info", timeout=10).json()["api_key"])


def _totals(invoiced_url: str, ids: list[int]) -> dict[int, tuple[int, float]]:
    """Invoice totals as the sandbox computed them (one streamed list, not 10,000 GETs)."""
    totals: dict[int, tuple[int, float]] = {}
    url: str | None = f"{invoiced_url}/invoices"
    params: dict[str, Any] | None = {"per_page": 100, "exclude": "items"}
    session = requests.Session()
    session.auth = (_key(invoiced_url), "")
    while url:
        response = session.get(url, params=params, timeout=60)
        response.raise_for_status()
        for invoice in response.json():
            totals[invoice["id"]] = (invoice["customer"], invoice["total"])
        url = response.links.get("next", {}).get("url")
        params = None
    return totals
