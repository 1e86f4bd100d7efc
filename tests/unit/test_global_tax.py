"""Invoiced tax rates on a VAT/GST company's own tax codes (qbo_sync/globaltax.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from accounting_sync.common.values import RecordRejected
from accounting_sync.qbo_sync.company import DISCOUNT_ITEM
from accounting_sync.qbo_sync.globaltax import (
    ROUNDING_ITEM,
    ROUNDING_NOTE,
    CompanyTaxCode,
    TaxCodes,
    company_codes,
    fit_global,
    moved_rounding,
    tax_plan,
    untaxed_lines,
)

GB = [
    CompanyTaxCode("1", "20.0% S", (Decimal(20),), ("20.0% S",)),
    CompanyTaxCode("2", "5.0% R", (Decimal(5),), ("5.0% R",)),
    CompanyTaxCode("3", "0.0% Z", (Decimal(0),), ("0.0% Z",)),
    CompanyTaxCode("4", "Exempt", (Decimal(0),), ("Exempt",)),
    CompanyTaxCode("5", "20.0% ECG", (Decimal(20),), ("20.0% ECG",)),
]
VAT = {"id": "vat", "object": "tax_rate", "name": "VAT", "value": 20, "is_percent": True, "inclusive": False}


def rate(rate_id: str, name: str, percent: str, inclusive: bool = False) -> dict[str, Any]:
    return {"id": rate_id, "name": name, "percent": percent, "inclusive": inclusive}


def line(amount: float) -> dict[str, Any]:
    return {"DetailType": "SalesItemLineDetail", "Amount": amount,
            "SalesItemLineDetail": {"ItemRef": {"$item": "name:x"}, "Qty": 1, "UnitPrice": amount}}


def invoice(items: list[dict[str, Any]], taxes: list[dict[str, Any]], total: str, **extra: Any) -> dict[str, Any]:
    return {"items": items, "taxes": taxes, "total": total, **extra}


def test_company_codes_keep_rated_active_codes() -> None:
    rows = [
        {"Id": "1", "Name": "GST/PST BC", "SalesTaxRateList": {"TaxRateDetail": [
            {"TaxRateRef": {"value": "10"}}, {"TaxRateRef": {"value": "11"}}]}},
        {"Id": "2", "Name": "TAX"},
        {"Id": "3", "Name": "Old", "Active": False, "SalesTaxRateList": {"TaxRateDetail": [{"TaxRateRef": {"value": "10"}}]}},
    ]
    rates = [{"Id": "10", "Name": "GST", "RateValue": 5}, {"Id": "11", "Name": "PST BC", "RateValue": 7}]
    assert company_codes(rows, rates) == [CompanyTaxCode("1", "GST/PST BC", (Decimal(5), Decimal(7)), ("GST", "PST BC"))]


def test_a_rate_maps_by_percent_then_name_then_the_configure_page() -> None:
    codes = TaxCodes(GB, {})
    assert codes.for_rates([rate("reduced", "Reduced VAT", "5")]).name == "5.0% R"
    assert codes.for_rates([rate("ecg", "20.0% ECG", "20")]).name == "20.0% ECG"  # by name among two 20 %
    with pytest.raises(RecordRejected) as ambiguous:
        codes.for_rates([rate("vat", "VAT", "20")])
    assert ambiguous.value.code == "tax_code_ambiguous" and "Configure page" in str(ambiguous.value.hint)
    assert TaxCodes(GB, {"vat": "20.0% s"}).for_rates([rate("vat", "VAT", "20")]).id == "1"
    with pytest.raises(RecordRejected, match="no QuickBooks tax code"):
        codes.for_rates([rate("odd", "Odd", "17.5")])


def test_untaxed_lines_get_the_zero_rated_code_or_the_one_picked() -> None:
    assert TaxCodes(GB, {}).untaxed().name == "0.0% Z"
    assert TaxCodes(GB, {}, "Exempt").untaxed().name == "Exempt"
    memo = untaxed_lines({"Line": [line(50.0)]}, TaxCodes(GB, {}))
    assert memo["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "3"}


def test_lines_get_their_codes_and_per_line_rounding_is_evened_out() -> None:
    # Invoiced: 20 % of 20.06 = 4.01 (4.012); QBO per line: 2.01 + 2.01 = 4.02.
    source = invoice([{"amount": 10.03}, {"amount": 10.03}, {"amount": 5, "taxable": False}], [{"amount": 4.01, "tax_rate": VAT}],
                     "29.07")
    payload = {"Line": [line(10.03), line(10.03), line(5.0)], "TxnTaxDetail": {"TotalTax": 4.01}}
    fitted = fit_global(payload, tax_plan(source), TaxCodes(GB, {"vat": "20.0% S"}))
    codes = [entry["SalesItemLineDetail"]["TaxCodeRef"]["value"] for entry in fitted["Line"]]
    assert codes == ["1", "1", "3", "3"] and "TxnTaxDetail" not in fitted
    assert fitted["GlobalTaxCalculation"] == "TaxExcluded"
    rounding = fitted["Line"][-1]
    assert rounding["Amount"] == -0.01 and rounding["SalesItemLineDetail"]["ItemRef"] == {"$item": ROUNDING_ITEM}


def test_discounts_lower_the_lines_they_discount() -> None:
    # Invoiced takes the invoice's discount off the taxed base only: (100 - 10) x 20 % = 18.
    source = invoice([{"amount": 100}, {"amount": 50, "taxable": False}], [{"amount": 18, "tax_rate": VAT}], "158.00",
                     discounts=[{"amount": 10}])
    payload = {"Line": [line(100.0), line(50.0), {"DetailType": "DiscountLineDetail", "Amount": 10.0}]}
    fitted = fit_global(payload, tax_plan(source), TaxCodes(GB, {"vat": "20.0% S"}))
    assert [entry["DetailType"] for entry in fitted["Line"]] == ["SalesItemLineDetail"] * 3
    discount = fitted["Line"][-1]
    assert discount["Amount"] == -10.0 and discount["SalesItemLineDetail"]["ItemRef"] == {"$item": DISCOUNT_ITEM}
    assert discount["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "1"}


def test_inclusive_rates_send_the_gross_and_a_real_difference_is_reported() -> None:
    gst = {"id": "gst", "name": "GST", "value": 10, "is_percent": True, "inclusive": True}
    au = [CompanyTaxCode("7", "GST", (Decimal(10),), ("GST (sales)",)), CompanyTaxCode("8", "GST free", (Decimal(0),), ())]
    fitted = fit_global({"Line": [line(110.0)]}, tax_plan(invoice([{"amount": 100}], [{"amount": 10, "tax_rate": gst}],
                                                                  "110.00")), TaxCodes(au, {}))
    assert fitted["GlobalTaxCalculation"] == "TaxInclusive"
    assert fitted["Line"][0]["SalesItemLineDetail"]["TaxInclusiveAmt"] == 110.0
    with pytest.raises(RecordRejected) as differs:
        fit_global({"Line": [line(100.0)]}, tax_plan(invoice([{"amount": 100}], [{"amount": 10, "tax_rate": VAT}],
                                                              "110.00")), TaxCodes(GB, {"vat": "20.0% S"}))
    assert differs.value.code == "tax_total_differs"


def test_a_flat_tax_amount_cannot_be_mapped() -> None:
    plan = tax_plan(invoice([{"amount": 100}], [{"amount": 7, "tax_rate": None}], "107.00"))
    with pytest.raises(RecordRejected) as flat:
        fit_global({"Line": [line(100.0)]}, plan, TaxCodes(GB, {}))
    assert flat.value.code == "tax_code_unmapped"


def test_the_rounding_line_moves_by_what_qbo_still_differs() -> None:
    def new(amount: Decimal) -> dict[str, Any]:
        return {"Description": "new", "Amount": float(amount)}

    written = {"Line": [line(10.0), {**line(-0.01), "Description": ROUNDING_NOTE},
                        {"DetailType": "SubTotalLineDetail", "Amount": 9.99}]}
    assert moved_rounding(written, Decimal("0.01"), new)["Line"] == [line(10.0)]
    assert moved_rounding(written, Decimal("0.03"), new)["Line"] == [line(10.0), {"Description": "new", "Amount": 0.02}]
    assert moved_rounding({"Line": [line(10.0)]}, Decimal("-0.01"), new)["Line"][-1]["Amount"] == -0.01
