"""qbo_import from each kind of QuickBooks company: every outstanding QBO invoice arrives on
Invoiced with QBO's total, tax, balance and currency to the cent, and each Invoiced
customer bills in its QBO customer's currency and owes what it owes, in that currency."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests

from tests.e2e.import_harness import Pipelines
from tests.e2e.test_sync_e2e import money

PROFILES: dict[str, dict[str, Any]] = {
    "us": {},
    "us-ast": {"automated_sales_tax": True},
    "ca": {"country": "CA", "home_currency": "CAD"},
    "gb": {"country": "GB", "home_currency": "GBP"},
    "au": {"country": "AU", "home_currency": "AUD"},
    "us-multicurrency": {"multicurrency": True},
}


def code_id(pipes: Pipelines, name: str) -> str:
    return str(next(row["Id"] for row in pipes.boxes.qbo_rows("TaxCode") if row["Name"] == name))


def add_documents(pipes: Pipelines, profile: str) -> None:
    """What the QBO demo company lacks for this kind: a tax-inclusive invoice (AU) and a
    standard-rated one (GB), invoices in EUR and CAD on customers of those currencies."""
    item = pipes.boxes.qbo_rows("Item", "Name = 'Widget'")[0]
    customer = pipes.qbo_customer("Diego Rodriguez")["Id"]
    line: dict[str, Any] = {"DetailType": "SalesItemLineDetail", "Amount": 100.03,
                            "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 1, "UnitPrice": 100.03}}
    if profile == "au":
        line["SalesItemLineDetail"]["TaxCodeRef"] = {"value": code_id(pipes, "GST")}
        line["SalesItemLineDetail"]["TaxInclusiveAmt"] = 100.03
        pipes.qbo("POST", "invoice", json={"CustomerRef": {"value": customer}, "DocNumber": "AU-INCL",
                                           "GlobalTaxCalculation": "TaxInclusive", "Line": [line]})
    if profile == "gb":
        line["SalesItemLineDetail"]["TaxCodeRef"] = {"value": code_id(pipes, "20.0% S")}
        pipes.qbo("POST", "invoice", json={"CustomerRef": {"value": customer}, "DocNumber": "GB-STD", "Line": [line]})
    if profile == "us-multicurrency":
        for currency in ("EUR", "CAD"):
            buyer = pipes.qbo("POST", "customer", json={"DisplayName": f"Buyer {currency}",
                                                        "CurrencyRef": {"value": currency}})["Customer"]
            invoice = pipes.qbo("POST", "invoice", json={"CustomerRef": {"value": buyer["Id"]},
                                                         "DocNumber": f"MC-{currency}", "Line": [line]})["Invoice"]
            pipes.qbo_pay(invoice, 40.0)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_outstanding_invoices_arrive_as_in_quickbooks(pipelines: Pipelines, profile: str) -> None:
    body = {**PROFILES[profile], "seed_demo": True}
    requests.post(f"{pipelines.boxes.qbo_url}/_sandbox/company", json=body, timeout=30).raise_for_status()
    add_documents(pipelines, profile)
    pipelines.run_import()

    outstanding = [row for row in pipelines.boxes.qbo_rows("Invoice") if money(row["Balance"]) > 0]
    imported = {invoice["number"]: invoice for invoice in pipelines.invoiced("GET", "/invoices")}
    assert set(imported) == {str(row["DocNumber"]) for row in outstanding}
    owed: dict[str, Decimal] = {}
    for row in outstanding:
        invoice = imported[str(row["DocNumber"])]
        assert money(invoice["total"]) == money(row["TotalAmt"]), row["DocNumber"]
        assert money(invoice["balance"]) == money(row["Balance"]), row["DocNumber"]
        tax = sum((money(t["amount"]) for t in invoice["taxes"]), Decimal(0))
        assert tax == money(row["TxnTaxDetail"].get("TotalTax", 0)), row["DocNumber"]
        assert invoice["currency"] == row["CurrencyRef"]["value"].lower(), row["DocNumber"]
        key = (row["CustomerRef"]["name"], row["CurrencyRef"]["value"].lower())
        owed[key] = owed.get(key, Decimal(0)) + money(row["Balance"])
    customers = {str(c["id"]): c for c in pipelines.invoiced("GET", "/customers")}
    in_qbo = {row["DisplayName"]: row for row in pipelines.boxes.qbo_rows("Customer")}
    for customer in customers.values():  # every one imported, with its QBO customer's currency
        assert customer["currency"] == in_qbo[customer["name"]]["CurrencyRef"]["value"].lower(), customer["name"]
    on_invoiced: dict[tuple[str, str], Decimal] = {}
    for invoice in imported.values():
        customer = customers[str(invoice["customer"])]
        assert invoice["currency"] == customer["currency"], invoice["number"]
        key = (customer["name"], customer["currency"])
        on_invoiced[key] = on_invoiced.get(key, Decimal(0)) + money(invoice["balance"])
    assert on_invoiced == owed
    if profile in ("au", "gb", "us-multicurrency"):
        assert {"au": {"AU-INCL"}, "gb": {"GB-STD"}, "us-multicurrency": {"MC-EUR", "MC-CAD"}}[profile] <= set(imported)
    if profile == "us-multicurrency":
        currencies = {c["name"]: c["currency"] for c in customers.values()}
        assert (currencies["Buyer EUR"], currencies["Buyer CAD"]) == ("eur", "cad")
