"""Company profiles (`POST /_sandbox/company`): Preferences and CompanyInfo of each kind of
company, and the API behaving accordingly: automated sales tax, global tax codes,
multicurrency and the sales-form preferences. python-quickbooks reads and writes some of
them, as an outside judge of the shapes."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from qbo_support import Json, Qbo, customer, fault, invoice, invoice_body, item, payment, sales_line
from quickbooks import QuickBooks
from quickbooks.objects.base import Ref
from quickbooks.objects.company_info import CompanyInfo
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.preferences import Preferences
from quickbooks.objects.taxcode import TaxCode

from sandbox.quickbooks import profiles
from sandbox.quickbooks.config import CompanyProfile


def company(qbo: Qbo, **profile: Any) -> Json:
    return qbo.control("company", profile)


def tax_code(qbo: Qbo, name: str) -> Json:
    found: Json = qbo.query(f"SELECT * FROM TaxCode WHERE Name = '{name}'")["TaxCode"][0]
    return found


def coded_line(item_id: str, amount: float, code: str, **extra: Any) -> Json:
    return sales_line(item_id, amount, TaxCodeRef={"value": code}, **extra)


# -- the control and what the company says about itself ------------------------------------


def test_company_keeps_realm_and_grant_and_clears_data(qbo: Qbo) -> None:
    customer(qbo, "Before")
    answer = company(qbo, country="GB")
    assert answer["realm_id"] == qbo.realm_id and answer["profile"]["home_currency"] == "GBP"
    assert qbo.count("SELECT COUNT(*) FROM Customer") == 0  # same token still works
    assert qbo.read("CompanyInfo", qbo.realm_id)["Country"] == "GB"


def test_company_refuses_ast_outside_the_us(qbo: Qbo) -> None:
    response = requests.post(f"{qbo.base_url}/_sandbox/company", json={"country": "CA", "automated_sales_tax": True},
                             timeout=10)
    assert response.status_code == 422


def test_command_line_presets_and_json() -> None:
    assert profiles.preset("us-ast").automated_sales_tax
    assert profiles.preset('{"country": "AU"}').home_currency == "AUD"
    with pytest.raises(ValueError, match="unknown company profile"):
        profiles.preset("fr")


def test_seed_keeps_the_profile(qbo: Qbo) -> None:
    company(qbo, country="AU")
    qbo.control("seed")
    invoices = qbo.query("SELECT * FROM Invoice")["Invoice"]
    assert len(invoices) == 15 and all(row["TxnTaxDetail"]["TotalTax"] > 0 for row in invoices)


def test_python_quickbooks_reads_preferences_of_each_kind(qbo: Qbo, client: QuickBooks) -> None:
    company(qbo, automated_sales_tax=True, multicurrency=True, allow_discounts=False, custom_txn_numbers=False)
    prefs = Preferences.get(qb=client)
    assert prefs.TaxPrefs.PartnerTaxEnabled is True
    assert prefs.CurrencyPrefs.MultiCurrencyEnabled is True and prefs.CurrencyPrefs.HomeCurrency.value == "USD"
    assert prefs.SalesFormsPrefs.AllowDiscount is False and prefs.SalesFormsPrefs.CustomTxnNumbers is False
    company(qbo, country="CA")
    prefs = Preferences.get(qb=client)
    assert prefs.CurrencyPrefs.HomeCurrency.value == "CAD" and prefs.CurrencyPrefs.MultiCurrencyEnabled is False
    assert CompanyInfo.get(qbo.realm_id, qb=client).Country == "CA"
    gst_bc = TaxCode.filter(Name="GST/PST BC", qb=client)[0]
    assert [detail.TaxRateRef.name for detail in gst_bc.SalesTaxRateList.TaxRateDetail] == ["GST", "PST BC"]


# -- automated sales tax ------------------------------------------------------------------


def _ast_customer(qbo: Qbo, name: str, state: str, postal: str) -> str:
    return str(customer(qbo, name, BillAddr={"CountrySubDivisionCode": state, "PostalCode": postal})["Id"])


def test_ast_taxes_by_address_and_line_taxability(qbo: Qbo) -> None:
    company(qbo, automated_sales_tax=True)
    item_id = item(qbo, "Widget")["Id"]
    texan = _ast_customer(qbo, "Texan", "TX", "73301")
    body = invoice_body(texan, item_id, 100, Line=[coded_line(item_id, 100, "TAX"), coded_line(item_id, 50, "NON")])
    created = qbo.create("Invoice", body)
    assert created["TxnTaxDetail"]["TotalTax"] == 6.25 and created["TotalAmt"] == 156.25
    ship = {"CountrySubDivisionCode": "CA", "PostalCode": "94107"}  # ship-to wins over bill-to
    shipped = qbo.create("Invoice", {**body, "ShipAddr": ship})
    assert shipped["TxnTaxDetail"]["TotalTax"] == 8.63  # 8.625 % of 100, half-up
    nowhere = _ast_customer(qbo, "Oregon", "OR", "97201")
    assert invoice(qbo, nowhere, item_id, 100)["TxnTaxDetail"]["TotalTax"] == 0


def test_ast_override_needs_total_and_code(qbo: Qbo) -> None:
    company(qbo, automated_sales_tax=True)
    item_id = item(qbo, "Widget", Taxable=True)["Id"]
    buyer = _ast_customer(qbo, "Tucson Buyer", "AZ", "85719")
    code = tax_code(qbo, "AZ")["Id"]
    overridden = invoice(qbo, buyer, item_id, 200, TxnTaxDetail={"TxnTaxCodeRef": {"value": code}, "TotalTax": 0})
    assert overridden["TotalAmt"] == 200 and overridden["TxnTaxDetail"]["TotalTax"] == 0
    engine_line = overridden["TxnTaxDetail"]["TaxLine"][0]["TaxLineDetail"]
    assert (engine_line["TaxPercent"], engine_line["NetAmountTaxable"]) == (8.7, 200)  # what AST would charge
    ignored = invoice(qbo, buyer, item_id, 200, TxnTaxDetail={"TotalTax": 1})
    assert ignored["TxnTaxDetail"]["TotalTax"] == 17.4


def test_ast_override_ignored_by_the_switch(qbo: Qbo) -> None:
    """`ast_override: "ignored"`: the integrators' reading, QBO's engine taxes by its own rates."""
    assert company(qbo, automated_sales_tax=True, ast_override="ignored")["profile"]["ast_override"] == "ignored"
    item_id = item(qbo, "Widget", Taxable=True)["Id"]
    buyer = _ast_customer(qbo, "Tucson Buyer", "AZ", "85719")
    code = tax_code(qbo, "AZ")["Id"]
    sent = invoice(qbo, buyer, item_id, 200, TxnTaxDetail={"TxnTaxCodeRef": {"value": code}, "TotalTax": 0})
    assert (sent["TxnTaxDetail"]["TotalTax"], sent["TotalAmt"]) == (17.4, 217.4)


def test_ast_refuses_creating_tax_codes(qbo: Qbo) -> None:
    company(qbo, automated_sales_tax=True)
    response = qbo.post("taxservice/taxcode", {"TaxCode": "Mine", "TaxRateDetails": [
        {"TaxRateName": "Mine", "RateValue": 5, "TaxAgencyId": "1"}]})
    assert fault(response)["code"] == "6000"


# -- global tax -----------------------------------------------------------------------------


def test_global_line_without_tax_code_is_refused_with_intuits_wording(qbo: Qbo) -> None:
    company(qbo, country="GB")
    buyer, item_id = customer(qbo)["Id"], item(qbo)["Id"]
    error = fault(qbo.post("invoice", invoice_body(buyer, item_id)))
    assert error["code"] == "6000" and "have a VAT rate before you save" in error["Detail"]
    assert fault(qbo.post("invoice", invoice_body(buyer, item_id, Line=[coded_line(item_id, 1, "TAX")])))[
        "code"] == "2500"


def test_gb_tax_lines_per_rate_rounded_per_line(qbo: Qbo) -> None:
    company(qbo, country="GB")
    buyer, item_id = customer(qbo)["Id"], item(qbo)["Id"]
    standard, reduced, exempt = (tax_code(qbo, name)["Id"] for name in ("20.0% S", "5.0% R", "Exempt"))
    lines = [coded_line(item_id, 10.03, standard), coded_line(item_id, 10.03, standard),
             coded_line(item_id, 9.99, reduced), coded_line(item_id, 40, exempt)]
    created = invoice(qbo, buyer, item_id, Line=lines)
    by_percent = {line["TaxLineDetail"]["TaxPercent"]: (line["Amount"], line["TaxLineDetail"]["NetAmountTaxable"])
                  for line in created["TxnTaxDetail"]["TaxLine"]}
    assert by_percent == {20: (4.02, 20.06), 5: (0.5, 9.99), 0: (0, 40)}  # 2.006 -> 2.01 twice, not 4.01
    assert created["TotalAmt"] == 74.57 and created["GlobalTaxCalculation"] == "TaxExcluded"


def test_rate_rounding_switch(start_server: Any, connect: Any) -> None:
    base_url, state = start_server(global_tax_rounding="rate")
    qbo = connect(base_url, state)
    company(qbo, country="GB")
    buyer, item_id = customer(qbo)["Id"], item(qbo)["Id"]
    standard = tax_code(qbo, "20.0% S")["Id"]
    created = invoice(qbo, buyer, item_id, Line=[coded_line(item_id, 10.03, standard)] * 2)
    assert created["TxnTaxDetail"]["TotalTax"] == 4.01


def test_tax_inclusive_amount_gives_the_net_line(qbo: Qbo) -> None:
    company(qbo, country="AU")
    buyer, item_id = customer(qbo)["Id"], item(qbo)["Id"]
    gst = tax_code(qbo, "GST")["Id"]
    line = coded_line(item_id, 110, gst, TaxInclusiveAmt=110)
    created = invoice(qbo, buyer, item_id, Line=[line], GlobalTaxCalculation="TaxInclusive")
    assert created["Line"][0]["Amount"] == 100 and created["TxnTaxDetail"]["TotalTax"] == 10
    assert created["TotalAmt"] == 110
    odd = invoice(qbo, buyer, item_id, Line=[coded_line(item_id, 10, gst, TaxInclusiveAmt=10)],
                  GlobalTaxCalculation="TaxInclusive")
    assert (odd["Line"][0]["Amount"], odd["TxnTaxDetail"]["TotalTax"], odd["TotalAmt"]) == (9.09, 0.91, 10)
    untaxed = invoice(qbo, buyer, item_id, Line=[coded_line(item_id, 10, gst)], GlobalTaxCalculation="NotApplicable")
    assert untaxed["TotalAmt"] == 10


def test_ca_two_rate_code(qbo: Qbo, client: QuickBooks) -> None:
    company(qbo, country="CA")
    buyer, item_id = customer(qbo)["Id"], item(qbo)["Id"]
    line = SalesItemLine()
    line.Amount = 100
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = Ref()
    line.SalesItemLineDetail.ItemRef.value = item_id
    line.SalesItemLineDetail.TaxCodeRef = Ref()
    line.SalesItemLineDetail.TaxCodeRef.value = tax_code(qbo, "GST/QST QC")["Id"]
    document = Invoice()
    document.CustomerRef = Ref()
    document.CustomerRef.value = buyer
    document.Line = [line]
    saved = document.save(qb=client)
    assert saved.TxnTaxDetail.TotalTax == 14.98 and saved.TotalAmt == 114.98  # 5.00 + 9.975 -> 9.98
    assert len(saved.TxnTaxDetail.TaxLine) == 2


# -- multicurrency ------------------------------------------------------------------------


def test_foreign_customer_needs_multicurrency(qbo: Qbo) -> None:
    error = fault(qbo.post("customer", {"DisplayName": "Euro GmbH", "CurrencyRef": {"value": "EUR"}}))
    assert error["code"] == "6000" and "multicurrency" in error["Detail"]


def test_multicurrency_documents_rates_and_home_amounts(qbo: Qbo) -> None:
    company(qbo, multicurrency=True)
    item_id = item(qbo)["Id"]
    euro = customer(qbo, "Euro GmbH", CurrencyRef={"value": "EUR"})
    assert euro["CurrencyRef"] == {"value": "EUR", "name": "Euro"}
    table = invoice(qbo, euro["Id"], item_id, 100)
    assert (table["CurrencyRef"]["value"], table["ExchangeRate"], table["HomeTotalAmt"]) == ("EUR", 1.08, 108)
    sent = invoice(qbo, euro["Id"], item_id, 100, ExchangeRate=1.1)
    assert sent["HomeTotalAmt"] == 110 and sent["HomeBalance"] == 110
    wrong = fault(qbo.post("invoice", invoice_body(euro["Id"], item_id, CurrencyRef={"value": "USD"})))
    assert "customer's currency" in wrong["Detail"]
    changed = {"Id": euro["Id"], "SyncToken": euro["SyncToken"], "sparse": True, "CurrencyRef": {"value": "CAD"}}
    assert "can't change the currency" in fault(qbo.post("customer", changed))["Detail"]
    assert qbo.count("SELECT COUNT(*) FROM CompanyCurrency") == 5


def test_payment_at_another_rate_realises_exchange_gain(qbo: Qbo) -> None:
    company(qbo, multicurrency=True)
    item_id = item(qbo)["Id"]
    canadian = customer(qbo, "Maple Ltd", CurrencyRef={"value": "CAD"})["Id"]
    billed = invoice(qbo, canadian, item_id, 100, ExchangeRate=0.7)
    paid = payment(qbo, canadian, 100, [("Invoice", billed["Id"], 100)], ExchangeRate=0.75)
    assert paid["CurrencyRef"]["value"] == "CAD"
    reread = qbo.read("Invoice", billed["Id"])
    assert reread["Balance"] == 0 and reread["HomeBalance"] == 0
    gains = qbo.query("SELECT * FROM Account WHERE AccountSubType = 'ExchangeGainOrLoss'")["Account"][0]
    assert gains["CurrentBalance"] == 5


# -- preferences ---------------------------------------------------------------------------


def test_discounts_off_refuse_discount_lines(qbo: Qbo) -> None:
    company(qbo, allow_discounts=False)
    buyer, item_id = customer(qbo)["Id"], item(qbo)["Id"]
    discount = {"DetailType": "DiscountLineDetail", "Amount": 5, "DiscountLineDetail": {"PercentBased": False}}
    body = invoice_body(buyer, item_id, 100, Line=[sales_line(item_id, 100), discount])
    assert fault(qbo.post("invoice", body))["code"] == "6000"


def test_custom_numbers_off_numbers_documents_and_ignores_doc_number(qbo: Qbo) -> None:
    company(qbo, custom_txn_numbers=False)
    buyer, item_id = customer(qbo)["Id"], item(qbo)["Id"]
    assert invoice(qbo, buyer, item_id, DocNumber="INV-7")["DocNumber"] == "1001"
    assert invoice(qbo, buyer, item_id, DocNumber="INV-7")["DocNumber"] == "1002"


def test_duplicate_numbers_warning_only(qbo: Qbo) -> None:
    buyer, item_id = customer(qbo)["Id"], item(qbo)["Id"]
    invoice(qbo, buyer, item_id, DocNumber="7")
    assert fault(qbo.post("invoice", invoice_body(buyer, item_id, DocNumber="7")))["code"] == "6140"
    company(qbo, duplicate_docnum_warning_only=True)
    buyer, item_id = customer(qbo)["Id"], item(qbo)["Id"]
    invoice(qbo, buyer, item_id, DocNumber="7")
    assert invoice(qbo, buyer, item_id, DocNumber="7")["DocNumber"] == "7"


def test_profile_defaults_follow_country() -> None:
    assert CompanyProfile(country="GB").enabled_currencies() == ["GBP"]
    assert "GBP" not in CompanyProfile(country="GB", multicurrency=True).enabled_currencies()[1:]
