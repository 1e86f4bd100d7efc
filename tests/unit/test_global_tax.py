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
    CompanyRate,
    CompanyTaxCode,
    QboTax,
    Target,
    TaxCodes,
    company_codes,
    evened,
    fit_global,
    refitted,
    tax_plan,
    untaxed_lines,
)


def code(code_id: str, name: str, *rates: tuple[str, str, str]) -> CompanyTaxCode:
    return CompanyTaxCode(code_id, name, tuple(CompanyRate(rate_id, label, Decimal(percent)) for rate_id, label, percent in rates))


GB = [
    code("1", "20.0% S", ("r1", "20.0% S", "20")),
    code("2", "5.0% R", ("r2", "5.0% R", "5")),
    code("3", "0.0% Z", ("r3", "0.0% Z", "0")),
    code("4", "Exempt", ("r4", "Exempt", "0")),
    code("5", "20.0% ECG", ("r5", "20.0% ECG", "20")),
]
AU = [code("7", "GST", ("r7", "GST (sales)", "10")), code("8", "GST free", ("r8", "GST free (sales)", "0"))]
CA = [
    code("11", "GST", ("gst", "GST", "5")),
    code("12", "HST ON", ("hst", "HST ON", "13")),
    code("13", "GST/PST BC", ("gst", "GST", "5"), ("pst", "PST BC", "7")),
    code("14", "GST/QST QC", ("gst", "GST", "5"), ("qst", "QST", "9.975")),
    code("15", "Zero-rated", ("zero", "Zero-rated", "0")),
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
    assert company_codes(rows, rates) == [code("1", "GST/PST BC", ("10", "GST", "5"), ("11", "PST BC", "7"))]


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


def placed(fitted: dict[str, Any]) -> list[tuple[float, str, bool]]:
    """Each line's amount, tax code and whether it is a tax rounding line."""
    return [(entry["Amount"], entry["SalesItemLineDetail"]["TaxCodeRef"]["value"], entry.get("Description") == ROUNDING_NOTE)
            for entry in fitted["Line"]]


def agrees(fitted: dict[str, Any], target: Target, codes: TaxCodes) -> bool:
    """QBO's tax per rate and total, as QBO computes them (QboTax, as the sandbox does), are Invoiced's."""
    model = QboTax(codes, fitted["GlobalTaxCalculation"] == "TaxInclusive")
    return not target.off(model.taxes(fitted["Line"])) and model.total(fitted["Line"]) == target.total


def test_gb_per_line_rounding_is_evened_out_on_the_rate_it_concerns() -> None:
    # Invoiced: 20 % of 20.06 = 4.01 (4.012); QBO per line: 2.01 + 2.01 = 4.02. A line of -0.03 at
    # 20 % carries -0.01 of VAT, +0.03 at the zero rate takes the amount back: QBO's VAT is 4.01.
    source = invoice([{"amount": 10.03}, {"amount": 10.03}, {"amount": 5, "taxable": False}], [{"amount": 4.01, "tax_rate": VAT}],
                     "29.07")
    payload = {"Line": [line(10.03), line(10.03), line(5.0)], "TxnTaxDetail": {"TotalTax": 4.01}}
    codes = TaxCodes(GB, {"vat": "20.0% S"})
    fitted, target = fit_global(payload, tax_plan(source), codes)
    assert placed(fitted) == [(10.03, "1", False), (10.03, "1", False), (5.0, "3", False), (-0.03, "1", True), (0.03, "3", True)]
    assert "TxnTaxDetail" not in fitted and fitted["GlobalTaxCalculation"] == "TaxExcluded"
    assert fitted["Line"][-1]["SalesItemLineDetail"]["ItemRef"] == {"$item": ROUNDING_ITEM}
    assert (target.total, target.taxes) == (Decimal("29.07"), {frozenset({"r1"}): Decimal("4.01")})
    assert target.codes == {("vat", "20.0% S")} and agrees(fitted, target, codes)


def test_gb_two_rates_are_evened_out_each_on_its_own_code() -> None:
    # The reduced rate on the first line only (Invoiced rounds a line's own tax per line, as QBO
    # does); VAT on the other two: 4.01 on Invoiced, 4.02 in QBO.
    reduced = {**VAT, "id": "reduced", "name": "Reduced VAT", "value": 5}
    source = invoice([{"amount": 10.03, "taxable": False, "taxes": [{"amount": 0.50, "tax_rate": reduced}]},
                      {"amount": 10.03}, {"amount": 10.03}], [{"amount": 4.01, "tax_rate": VAT}], "34.60")
    codes = TaxCodes(GB, {"vat": "20.0% S"})
    fitted, target = fit_global({"Line": [line(10.03)] * 3}, tax_plan(source), codes)
    assert placed(fitted)[3:] == [(-0.03, "1", True), (0.03, "3", True)]
    assert target.taxes == {frozenset({"r2"}): Decimal("0.50"), frozenset({"r1"}): Decimal("4.01")}
    assert agrees(fitted, target, codes)


def test_au_inclusive_tax_is_evened_out_so_gst_and_income_agree() -> None:
    # Invoiced marks the whole 30.15 down once: 30.15 / 11 = 2.7409, rounded up 2.75. QBO takes
    # each line's net half-up: 10.05 - 9.14 = 0.91, three times 2.73. A gross of 0.17 at GST
    # carries 0.02 of GST (net 0.15), -0.17 GST free takes it back: total 30.15, GST 2.75, net 27.40.
    gst = {"id": "gst", "name": "GST", "value": 10, "is_percent": True, "inclusive": True}
    source = invoice([{"amount": 10.05}] * 3, [{"amount": 2.75, "tax_rate": gst}], "30.15")
    codes = TaxCodes(AU, {})
    fitted, target = fit_global({"Line": [line(10.05)] * 3}, tax_plan(source), codes)
    assert fitted["GlobalTaxCalculation"] == "TaxInclusive"
    assert placed(fitted)[3:] == [(0.17, "7", True), (-0.17, "8", True)]
    assert [entry["SalesItemLineDetail"]["TaxInclusiveAmt"] for entry in fitted["Line"]] == [10.05] * 3 + [0.17, -0.17]
    model = QboTax(codes, inclusive=True)
    assert model.taxes(fitted["Line"])["r7"] == Decimal("2.75") and agrees(fitted, target, codes)


def test_ca_gst_and_pst_are_each_evened_out() -> None:
    # GST + PST BC on 4 x 10.06 = 40.24: Invoiced 2.01 and 2.82, QBO per line 2.00 and 2.80.
    # PST has no code of its own, so its line goes on GST/PST BC: 0.22 there carries 0.02 of PST
    # and 0.01 of GST, which is what GST lacked.
    gst, pst = ({**VAT, "id": key, "name": name, "value": value} for key, name, value in (("gst", "GST", 5), ("pst", "PST BC", 7)))
    source = invoice([{"amount": 10.06}] * 4, [{"amount": 2.01, "tax_rate": gst}, {"amount": 2.82, "tax_rate": pst}], "45.07")
    codes = TaxCodes(CA, {})
    fitted, target = fit_global({"Line": [line(10.06)] * 4}, tax_plan(source), codes)
    assert placed(fitted)[4:] == [(0.22, "13", True), (-0.22, "15", True)]
    assert target.taxes == {frozenset({"gst"}): Decimal("2.01"), frozenset({"pst"}): Decimal("2.82")}
    assert agrees(fitted, target, codes)
    # 2 x 10.11: GST 1.01 on Invoiced, 1.02 in QBO; PST agrees. The GST code carries the cent alone.
    source = invoice([{"amount": 10.11}] * 2, [{"amount": 1.01, "tax_rate": gst}, {"amount": 1.42, "tax_rate": pst}], "22.65")
    fitted, target = fit_global({"Line": [line(10.11)] * 2}, tax_plan(source), codes)
    assert placed(fitted)[2:] == [(-0.1, "11", True), (0.1, "15", True)] and agrees(fitted, target, codes)


def test_a_cent_no_code_can_carry_alone_is_reported() -> None:
    # Two rates of 5 % on one code move together: GST cannot gain a cent without PST gaining one.
    codes = TaxCodes([code("21", "GST/PST X", ("gst", "GST", "5"), ("pst", "PST X", "5")), CA[-1]], {})
    lines = [{**line(10.0), "SalesItemLineDetail": {**line(10.0)["SalesItemLineDetail"], "TaxCodeRef": {"value": "21"}}}]
    target = Target(Decimal("11.01"), {frozenset({"gst"}): Decimal("0.51"), frozenset({"pst"}): Decimal("0.50")})
    with pytest.raises(RecordRejected) as unplaced:
        evened(lines, target, QboTax(codes, inclusive=False))
    assert unplaced.value.code == "tax_rounding_unplaced" and "GST" in str(unplaced.value.hint)


def test_discounts_lower_the_lines_they_discount() -> None:
    # Invoiced takes the invoice's discount off the taxed base only: (100 - 10) x 20 % = 18.
    source = invoice([{"amount": 100}, {"amount": 50, "taxable": False}], [{"amount": 18, "tax_rate": VAT}], "158.00",
                     discounts=[{"amount": 10}])
    payload = {"Line": [line(100.0), line(50.0), {"DetailType": "DiscountLineDetail", "Amount": 10.0}]}
    fitted, _ = fit_global(payload, tax_plan(source), TaxCodes(GB, {"vat": "20.0% S"}))
    assert [entry["DetailType"] for entry in fitted["Line"]] == ["SalesItemLineDetail"] * 3
    discount = fitted["Line"][-1]
    assert discount["Amount"] == -10.0 and discount["SalesItemLineDetail"]["ItemRef"] == {"$item": DISCOUNT_ITEM}
    assert discount["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "1"}


def test_inclusive_rates_send_the_gross_and_a_real_difference_is_reported() -> None:
    gst = {"id": "gst", "name": "GST", "value": 10, "is_percent": True, "inclusive": True}
    fitted, _ = fit_global({"Line": [line(110.0)]}, tax_plan(invoice([{"amount": 100}], [{"amount": 10, "tax_rate": gst}],
                                                                     "110.00")), TaxCodes(AU, {}))
    assert fitted["GlobalTaxCalculation"] == "TaxInclusive"
    assert fitted["Line"][0]["SalesItemLineDetail"]["TaxInclusiveAmt"] == 110.0
    with pytest.raises(RecordRejected) as differs:
        fit_global({"Line": [line(100.0)]}, tax_plan(invoice([{"amount": 100}], [{"amount": 10, "tax_rate": VAT}],
                                                              "110.00")), TaxCodes(GB, {"vat": "20.0% S"}))
    assert differs.value.code == "tax_total_differs"
    # The same total, but a code picked at another rate: QBO's tax would differ, which is no rounding.
    inclusive = {**VAT, "inclusive": True}
    with pytest.raises(RecordRejected, match="charge 5.0% R of 5.71, Invoiced 20.00") as tax_differs:
        fit_global({"Line": [line(120.0)]}, tax_plan(invoice([{"amount": 120}], [{"amount": 20, "tax_rate": inclusive}],
                                                              "120.00")), TaxCodes(GB, {"vat": "5.0% R"}))
    assert tax_differs.value.code == "tax_total_differs"


def test_a_flat_tax_amount_cannot_be_mapped() -> None:
    plan = tax_plan(invoice([{"amount": 100}], [{"amount": 7, "tax_rate": None}], "107.00"))
    with pytest.raises(RecordRejected) as flat:
        fit_global({"Line": [line(100.0)]}, plan, TaxCodes(GB, {}))
    assert flat.value.code == "tax_code_unmapped"


def test_a_document_quickbooks_taxes_once_per_rate_is_fitted_again() -> None:
    source = invoice([{"amount": 10.03}, {"amount": 10.03}], [{"amount": 4.01, "tax_rate": VAT}], "24.07")
    codes = TaxCodes(GB, {"vat": "20.0% S"})
    fitted, target = fit_global({"Line": [line(10.03), line(10.03)]}, tax_plan(source), codes)
    assert any(entry["Description"] == ROUNDING_NOTE for entry in fitted["Line"][2:])

    def written(tax: float, total: float) -> dict[str, Any]:
        return {"TotalAmt": total, "TxnTaxDetail": {"TotalTax": tax, "TaxLine": [
            {"Amount": tax, "TaxLineDetail": {"TaxRateRef": {"value": "r1"}}}]}}

    assert not target.missed_by(written(4.01, 24.07))
    assert target.missed_by(written(4.00, 24.06)) and target.missed_by(written(4.01, 24.08))
    # Rounded once per rate, 20 % of 20.06 is Invoiced's 4.01: no rounding line is needed.
    assert refitted(fitted, target, codes)["Line"] == fitted["Line"][:2]
