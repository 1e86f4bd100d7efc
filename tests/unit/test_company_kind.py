"""Fitting a planned invoice to the kind of QuickBooks company (qbo_sync/company.py)."""

from __future__ import annotations

from typing import Any

from accounting_sync.qbo_sync.company import (
    DISCOUNT_ITEM,
    CompanyKind,
    computed_tax_differs,
    fit_invoice,
    needs_discount_item,
)

PLANNED: dict[str, Any] = {
    "CustomerRef": {"$customer": "7"},
    "DocNumber": "INV-1",
    "PrivateNote": "Invoiced invoice 42",
    "Line": [
        {"DetailType": "SalesItemLineDetail", "Amount": 100.0, "SalesItemLineDetail": {"ItemRef": {"$item": "name:x"}}},
        {"DetailType": "DiscountLineDetail", "Amount": 10.0, "DiscountLineDetail": {"PercentBased": False}},
    ],
}


def test_preferences_give_the_kind() -> None:
    kind = CompanyKind.from_preferences({
        "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": True},
        "SalesFormsPrefs": {"AllowDiscount": False, "CustomTxnNumbers": False},
        "CurrencyPrefs": {"HomeCurrency": {"value": "usd"}, "MultiCurrencyEnabled": True},
    })
    assert kind == CompanyKind(True, False, False, True, "USD")
    assert CompanyKind.from_preferences({}) == CompanyKind() and not CompanyKind().global_tax
    assert CompanyKind.from_preferences({}, "gb").global_tax
    assert "automated sales tax" in kind.describe() and "discounts off" in kind.describe()


def test_ast_always_overrides_even_without_tax() -> None:
    fitted = fit_invoice(PLANNED, CompanyKind(automated_sales_tax=True), "INV-1")
    assert fitted["TxnTaxDetail"] == {"TxnTaxCodeRef": {"$taxcode": "default"}, "TotalTax": 0}
    taxed = fit_invoice({**PLANNED, "TxnTaxDetail": {"TotalTax": 8.25}}, CompanyKind(automated_sales_tax=True), None)
    assert taxed["TxnTaxDetail"]["TotalTax"] == 8.25
    assert "TxnTaxDetail" not in fit_invoice(PLANNED, CompanyKind(), "INV-1")


def test_discounts_off_become_a_negative_line_on_the_discount_item() -> None:
    kind = CompanyKind(allow_discounts=False)
    assert needs_discount_item(PLANNED, kind) and not needs_discount_item(PLANNED, CompanyKind())
    line = fit_invoice(PLANNED, kind, "INV-1")["Line"][1]
    assert line["Amount"] == -10.0 and line["SalesItemLineDetail"]["ItemRef"] == {"$item": DISCOUNT_ITEM}
    assert line["SalesItemLineDetail"]["UnitPrice"] == -10.0


def test_custom_numbers_off_move_the_number_to_the_note() -> None:
    fitted = fit_invoice(PLANNED, CompanyKind(custom_txn_numbers=False), "INV-1")
    assert "DocNumber" not in fitted and fitted["PrivateNote"] == "Invoiced invoice 42, number INV-1"
    noted = {**PLANNED, "PrivateNote": "Invoiced invoice 42, number INV-1"}
    assert fit_invoice(noted, CompanyKind(custom_txn_numbers=False), "INV-1")["PrivateNote"] == noted["PrivateNote"]
    assert PLANNED["DocNumber"] == "INV-1"  # the plan itself is left alone


def test_computed_tax_difference_is_reported() -> None:
    def written(total: float) -> dict[str, Any]:
        line = {"TaxLineDetail": {"TaxPercent": 8.625, "NetAmountTaxable": 100}}
        return {"TxnTaxDetail": {"TotalTax": total, "TaxLine": [line]}}

    assert computed_tax_differs(written(8.63)) is None
    assert "would have charged 8.63" in str(computed_tax_differs(written(0)))
    assert computed_tax_differs({"TxnTaxDetail": {"TotalTax": 0}}) is None
