"""Control plane: info, reset, clock, bulk loading and the demo seed."""

from __future__ import annotations

from collections import Counter
from typing import Any

import requests

from tests.integration.sandbox.invoiced.invoiced_client import InvoicedClient


def test_info_reports_credentials_and_counts(inv: InvoicedClient) -> None:
    inv.create("/customers", {"name": "Counted"})
    info = requests.get(inv.base_url + "/_sandbox/info", timeout=5).json()
    assert info["api_key"] == inv.api_key
    assert len(info["api_key"]) >= 20
    assert info["counts"]["customers"] == 1
    assert info["faults"]["probability"] == 0.0
    assert inv.control("reset")["counts"]["customers"] == 0


def test_clock_moves(inv: InvoicedClient) -> None:
    assert inv.control("clock", {"now": 1_700_000_000})["now"] == 1_700_000_000
    assert inv.control("clock", {"advance_seconds": 60})["now"] in (1_700_000_060, 1_700_000_061)
    assert inv.create("/customers", {"name": "Then"})["created_at"] >= 1_700_000_060
    refused = requests.post(inv.base_url + "/_sandbox/clock", json={}, timeout=5)
    assert refused.status_code == 400


def test_bulk_load_uses_api_rules(inv: InvoicedClient) -> None:
    loaded = inv.control(
        "bulk", {"customers": [{"name": "B1"}, {"name": "B2"}], "items": [{"id": "sku-1", "name": "S"}]}
    )
    assert loaded["customers"] == [1, 2]
    assert loaded["items"] == ["sku-1"]
    invoices = [
        {"customer": 1 + n % 2, "items": [{"catalog_item": "sku-1", "unit_cost": 5, "quantity": 2}]}
        for n in range(500)
    ]
    created = inv.control("bulk", {"invoices": invoices})["invoices"]
    assert len(created) == 500
    assert inv.get(f"/invoices/{created[-1]}").json()["total"] == 10
    payments = inv.control(
        "bulk",
        {
            "payments": [
                {"amount": 10, "applied_to": [{"type": "invoice", "invoice": created[0], "amount": 10}]}
            ]
        },
    )
    assert inv.get(f"/invoices/{created[0]}").json()["status"] == "paid"
    assert len(payments["payments"]) == 1
    failed = requests.post(
        inv.base_url + "/_sandbox/bulk", json={"invoices": [{"customer": 1}, {"customer": 99}]}, timeout=5
    )
    assert failed.status_code == 400
    assert failed.json() == {
        "type": "invalid_request",
        "message": "invoices[1]: No such customer: 99",
        "param": "customer",
    }


def all_pages(inv: InvoicedClient, path: str, **params: Any) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    page = 1
    while True:
        batch = inv.get(path, params={**params, "page": page}).json()
        records += batch
        if len(batch) < 100:
            return records
        page += 1


def test_seed_is_deterministic_and_covers_edge_cases(inv: InvoicedClient) -> None:
    counts = inv.control("seed")["counts"]
    assert inv.control("seed")["counts"] == counts, "seeding twice gives the same account"
    assert (counts["customers"], counts["invoices"], counts["payments"], counts["items"]) == (50, 202, 103, 21)
    customers = all_pages(inv, "/customers")
    names = Counter(customer["name"] for customer in customers)
    assert max(names.values()) >= 3
    assert any(len(name) > 100 for name in names)
    assert any(":" in name and "\t" in name for name in names)
    assert all(customer["email"] and customer["phone"] and customer["address1"] for customer in customers)
    invoices = all_pages(inv, "/invoices", include="date_bad_debt")
    statuses = Counter(invoice["status"] for invoice in invoices)
    for status in ("draft", "not_sent", "sent", "past_due", "paid", "bad_debt", "voided"):
        assert statuses[status] > 0, status
    assert any(i["closed"] and not i["paid"] and i["status"] == "past_due" for i in invoices)
    assert any(0 < i["balance"] < i["total"] and i["status"] == "past_due" for i in invoices)
    assert any(i["discounts"] for i in invoices) and any(i["taxes"] for i in invoices)
    lines = [line for invoice in invoices for line in invoice["items"]]
    assert any(line["name"] == "" for line in lines)
    assert any(line["catalog_item"] for line in lines)
    assert any(len(line["description"] or "") > 4000 for line in lines)
    assert any(len(invoice["number"]) > 21 for invoice in invoices)
    dates = [invoice["date"] for invoice in invoices]
    assert max(dates) - min(dates) > 300 * 86400
    payments = all_pages(inv, "/payments", include="applied_to")
    assert any(payment["voided"] for payment in payments)
    assert any(len({s.get("invoice") for s in payment["applied_to"]}) >= 2 for payment in payments)
    assert any(payment["balance"] > 0 and payment["applied_to"] for payment in payments)
    again = inv.control("seed")["counts"]
    assert again == counts
    assert [c["name"] for c in all_pages(inv, "/customers")] == [c["name"] for c in customers]


def test_seed_locales_bill_like_a_business_of_that_country(inv: InvoicedClient) -> None:
    inv.control("seed", {"locale": "au"})
    invoices = all_pages(inv, "/invoices")
    assert {invoice["currency"] for invoice in invoices} == {"aud"}
    rates = {tax["tax_rate"]["id"]: tax["tax_rate"] for invoice in invoices for tax in invoice["taxes"]}
    assert set(rates) == {"gst"} and rates["gst"]["inclusive"]
    assert any(not invoice["taxes"] for invoice in invoices)  # some are untaxed

    inv.control("seed", {"locale": "ca"})
    applied = {tuple(sorted(t["tax_rate"]["id"] for t in i["taxes"])) for i in all_pages(inv, "/invoices")}
    assert {("gst",), ("hst-on",), ("gst", "pst-bc")} <= applied

    inv.control("seed", {"locale": "us-multicurrency"})
    by_customer: dict[int, set[str]] = {}
    for invoice in all_pages(inv, "/invoices"):
        by_customer.setdefault(invoice["customer"], set()).add(invoice["currency"])
    assert set().union(*by_customer.values()) == {"usd", "eur", "cad"}
    assert any(len(currencies) > 1 for currencies in by_customer.values())
    for payment in all_pages(inv, "/payments", include="applied_to"):
        for split in payment["applied_to"]:
            if split.get("type") == "invoice":
                assert inv.get(f"/invoices/{split['invoice']}").json()["currency"] == payment["currency"]

    refused = requests.post(inv.base_url + "/_sandbox/seed", json={"locale": "xx"}, timeout=30)
    assert refused.status_code in (400, 422)
