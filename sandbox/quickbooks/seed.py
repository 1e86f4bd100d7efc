"""Company set-up: the empty company every realm starts as, and the demo data to import from.

Demo objects are created through the same validation code as API writes, so the seed
can never hold data the API itself would refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sandbox.quickbooks import entities, profiles, taxes
from sandbox.quickbooks.money import number
from sandbox.quickbooks.rules import WriteContext, stamp_new
from sandbox.quickbooks.schema import ENTITIES
from sandbox.quickbooks.store import Obj

DEFAULT_ACCOUNTS = (
    ("Accounts Receivable (A/R)", "AccountsReceivable"),
    ("Undeposited Funds", "UndepositedFunds"),
    ("Checking", "Checking"),
    ("Sales of Product Income", "SalesOfProductIncome"),
    ("Services", "ServiceFeeIncome"),
    ("Discounts given", "DiscountsRefundsGiven"),
)
COMPANY_ADDRESSES: dict[str, dict[str, str]] = {
    "US": {"Line1": "2700 Coast Ave", "City": "Mountain View", "CountrySubDivisionCode": "CA", "PostalCode": "94043"},
    "CA": {"Line1": "5100 Spectrum Way", "City": "Mississauga", "CountrySubDivisionCode": "ON", "PostalCode": "L4W 5S2"},
    "GB": {"Line1": "1 Cathedral Square", "City": "Leicester", "PostalCode": "LE1 5AE"},
    "AU": {"Line1": "100 Walker St", "City": "North Sydney", "CountrySubDivisionCode": "NSW", "PostalCode": "2060"},
}

DEMO_CUSTOMERS: tuple[dict[str, Any], ...] = (
    {"DisplayName": "Amy's Bird Sanctuary", "GivenName": "Amy", "FamilyName": "Lauterbach",
     "CompanyName": "Amy's Bird Sanctuary", "PrimaryEmailAddr": {"Address": "birds@intuit.example"},
     "PrimaryPhone": {"FreeFormNumber": "(650) 555-3311"},
     "BillAddr": {"Line1": "4581 Finch St.", "City": "Bayshore", "CountrySubDivisionCode": "CA",
                  "PostalCode": "94326"}},
    {"DisplayName": "Bill's Windsurf Shop", "CompanyName": "Bill's Windsurf Shop",
     "PrimaryEmailAddr": {"Address": "surf@intuit.example"}, "PrimaryPhone": {"FreeFormNumber": "(415) 444-6538"},
     "BillAddr": {"Line1": "12 Ocean Dr.", "City": "Half Moon Bay", "CountrySubDivisionCode": "CA",
                  "PostalCode": "94213"}},
    {"DisplayName": "Cool Cars", "CompanyName": "Cool Cars", "PrimaryPhone": {"FreeFormNumber": "(415) 555-9933"}},
    {"DisplayName": "Diego Rodriguez", "GivenName": "Diego", "FamilyName": "Rodriguez",
     "PrimaryEmailAddr": {"Address": "diego@rodriguez.example"}},
    {"DisplayName": "Dukes Basketball Camp", "CompanyName": "Dukes Basketball Camp",
     "PrimaryEmailAddr": {"Address": "dukes@basketball.example"},
     "BillAddr": {"Line1": "25 Court St.", "City": "Tucson", "CountrySubDivisionCode": "AZ", "PostalCode": "85719"}},
    {"DisplayName": "Freeman Sporting Goods", "CompanyName": "Freeman Sporting Goods",
     "PrimaryPhone": {"FreeFormNumber": "(650) 555-0987"}},
    {"DisplayName": "Geeta Kalapatapu", "GivenName": "Geeta", "FamilyName": "Kalapatapu",
     "PrimaryEmailAddr": {"Address": "geeta@kalapatapu.example"}},
    {"DisplayName": "Jeff's Jalopies", "CompanyName": "Jeff's Jalopies",
     "BillAddr": {"Line1": "12 Willow Rd.", "City": "Menlo Park", "CountrySubDivisionCode": "CA",
                  "PostalCode": "94305"}},
    {"DisplayName": "Kookies by Kathy", "CompanyName": "Kookies by Kathy",
     "PrimaryEmailAddr": {"Address": "kathy@kookies.example"}, "PrimaryPhone": {"FreeFormNumber": "(650) 555-7896"}},
    {"DisplayName": "Mark Cho", "GivenName": "Mark", "FamilyName": "Cho"},
)
DEMO_ITEMS = (
    ("Consulting", "Service", 150, "Services", False),
    ("Hosting", "Service", 49.99, "Services", False),
    ("Widget", "NonInventory", 25, "Sales of Product Income", True),
    ("Support Plan", "Service", 500, "Services", False),
    ("Bad Debts", "Service", 0, "Bad Debts", False),
)
# (customer index, days ago, [(item, qty)], options)
DEMO_INVOICES: tuple[tuple[int, int, tuple[tuple[str, float], ...], str], ...] = (
    (0, 75, (("Consulting", 4),), ""),
    (1, 68, (("Hosting", 12),), "partial"),
    (2, 61, (("Support Plan", 1),), "paid"),
    (3, 55, (("Consulting", 2), ("Hosting", 1)), ""),
    (4, 48, (("Consulting", 6),), "partial"),
    (5, 42, (("Support Plan", 2), ("Consulting", 1)), "discount"),
    (6, 36, (("Widget", 4), ("Consulting", 1)), "taxable"),
    (7, 30, (("Hosting", 3),), ""),
    (8, 25, (("Consulting", 3),), "paid"),
    (9, 21, (("Support Plan", 1),), ""),
    (0, 17, (("Hosting", 6),), "partial"),
    (1, 12, (("Consulting", 1),), ""),
    (3, 9, (("Widget", 10),), ""),
    (5, 5, (("Support Plan", 1), ("Hosting", 2)), ""),
    (7, 2, (("Consulting", 5),), ""),
)


DEFAULT_TERMS = (("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 60", 60))
"""The payment terms a new QBO company starts with."""


def initialize_company(ctx: WriteContext) -> None:
    """A new QBO company of the realm's kind: preferences, company info, a default chart of
    accounts, its tax agency and tax codes (US `TAX`/`NON`, or the country's own), currencies."""
    realm = ctx.realm
    profile = realm.profile
    realm.preferences = _preferences(ctx)
    realm.company_info = _company_info(ctx)
    for name, subtype in DEFAULT_ACCOUNTS:
        entities.create(ctx, ENTITIES["Account"], {"Name": name, "AccountSubType": subtype})
    if profile.multicurrency:
        entities.create(ctx, ENTITIES["Account"], {"Name": "Exchange Gain or Loss", "AccountSubType": "ExchangeGainOrLoss"})
    agency = {"DisplayName": profiles.TAX_AGENCIES[profile.country], "TaxTrackedOnSales": True,
              "TaxTrackedOnPurchases": False}
    agency_row = stamp_new(ctx, "TaxAgency", agency)
    realm.put("TaxAgency", agency_row)
    agency_id = agency_row["Id"]
    if profile.global_tax:
        for name, description, rates in profiles.GLOBAL_TAX_CODES[profile.country]:
            _system_tax_code(ctx, agency_id, name, description, rates)
    else:
        for code in ("TAX", "NON"):
            realm.put("TaxCode", stamp_new(ctx, "TaxCode", _pseudo_tax_code(code), obj_id=code))
    if profile.automated_sales_tax:
        for name, rate in profiles.ast_jurisdictions().items():
            _system_tax_code(ctx, agency_id, name, f"{name} sales tax", ((name, rate),))
    for name, days in DEFAULT_TERMS:
        entities.create(ctx, ENTITIES["Term"], {"Name": name, "Type": "STANDARD", "DueDays": days})
    for code in profile.enabled_currencies():
        currency = {"Code": code, "Name": profiles.CURRENCY_NAMES.get(code, code), "Active": True}
        realm.put("CompanyCurrency", stamp_new(ctx, "CompanyCurrency", currency))


def _system_tax_code(ctx: WriteContext, agency_id: str, name: str, description: str,
                     rates: tuple[tuple[str, str], ...]) -> None:
    """A tax code the company came with, and its rates (shared by name, as CA's GST is)."""
    details = []
    for rate_name, percent in rates:
        rate = next((row for row in ctx.realm.rows("TaxRate") if row["Name"] == rate_name), None)
        if rate is None:
            rate = stamp_new(ctx, "TaxRate", {
                "Name": rate_name, "Description": rate_name, "Active": True, "RateValue": number(Decimal(percent)),
                "AgencyRef": {"value": agency_id}, "SpecialTaxType": "NONE", "DisplayType": "ReadOnly"})
            ctx.realm.put("TaxRate", rate)
        details.append({"TaxRateRef": {"value": rate["Id"], "name": rate_name}, "TaxTypeApplicable": "TaxOnAmount",
                        "TaxOrder": 0})
    ctx.realm.put("TaxCode", stamp_new(ctx, "TaxCode", {
        "Name": name, "Description": description, "Active": True, "Hidden": False,
        "Taxable": any(Decimal(percent) for _, percent in rates), "TaxGroup": True,
        "SalesTaxRateList": {"TaxRateDetail": details}, "PurchaseTaxRateList": {"TaxRateDetail": []},
        "TaxCodeConfigType": "SYSTEM_GENERATED"}))


def _pseudo_tax_code(code: str) -> Obj:
    """US companies expose TAX/NON, the only valid line-level tax codes."""
    return {
        "Name": code, "Description": "Taxable" if code == "TAX" else "Non-Taxable", "Active": True,
        "Taxable": code == "TAX", "TaxGroup": False, "Hidden": False,
        "SalesTaxRateList": {"TaxRateDetail": []}, "PurchaseTaxRateList": {"TaxRateDetail": []},
        "TaxCodeConfigType": "SYSTEM_GENERATED",
    }


def _preferences(ctx: WriteContext) -> Obj:
    profile = ctx.realm.profile
    tax: Obj = {"UsingSalesTax": True}
    if profile.country == "US":
        # Intuit: PartnerTaxEnabled is present only in companies enabled for AST (ruckus PR #443).
        tax["PartnerTaxEnabled"] = profile.automated_sales_tax
    return stamp_new(ctx, "Preferences", {
        "AccountingInfoPrefs": {"TrackDepartments": False, "ClassTrackingPerTxn": False,
                                "CustomerTerminology": "Customers", "FirstMonthOfFiscalYear": "January"},
        "SalesFormsPrefs": {"CustomTxnNumbers": profile.custom_txn_numbers, "AllowDiscount": profile.allow_discounts,
                            "AllowDeposit": True, "AllowShipping": False, "AutoApplyCredit": True,
                            "ETransactionEnabledStatus": "NotApplicable"},
        "TaxPrefs": tax,
        "CurrencyPrefs": {"HomeCurrency": {"value": profile.home_currency},
                          "MultiCurrencyEnabled": profile.multicurrency},
    }, obj_id="1")


def _company_info(ctx: WriteContext) -> Obj:
    country = ctx.realm.profile.country
    address = {"Id": "1", **COMPANY_ADDRESSES[country], "Country": country}
    name = ctx.realm.company_name
    return stamp_new(ctx, "CompanyInfo", {
        "CompanyName": name, "LegalName": name, "CompanyAddr": address, "CustomerCommunicationAddr": address,
        "LegalAddr": address, "PrimaryPhone": {}, "CompanyStartDate": ctx.today.replace(month=1, day=1).isoformat(),
        "FiscalYearStartMonth": "January", "Country": country, "Email": {"Address": "noreply@quickbooks.example"},
        "WebAddr": {}, "SupportedLanguages": "en",
        "NameValue": [{"Name": "OfferingSku", "Value": "QuickBooks Online Plus"}],
    }, obj_id="1")


def seed_demo(ctx: WriteContext) -> None:
    """Add a small, realistic QBO-only company on top of an empty realm of any kind: global-tax
    lines carry the standard code, and only a US legacy company gets the "California" code."""
    create = _creator(ctx)
    create("Account", {"Name": "Bad Debts", "AccountSubType": "BadDebts"})
    accounts = {account["Name"]: account["Id"] for account in ctx.realm.rows("Account")}
    profile = ctx.realm.profile
    legacy = not profile.global_tax and not profile.automated_sales_tax
    tax = taxes.create_tax_code(ctx, {"TaxCode": "California", "TaxRateDetails": [
        {"TaxRateName": "California State Sales Tax", "RateValue": 8.25, "TaxAgencyId": "1",
         "TaxApplicableOn": "Sales"}]}) if legacy else None
    line_code = next(ctx.realm.rows("TaxCode"))["Id"] if profile.global_tax else None
    customers = [create("Customer", customer)["Id"] for customer in DEMO_CUSTOMERS]
    create("Vendor", {"DisplayName": "Northwind Supplies", "CompanyName": "Northwind Supplies"})
    items = {
        name: create("Item", {"Name": name, "Type": kind, "UnitPrice": price, "Taxable": taxable,
                              "IncomeAccountRef": {"value": accounts[income]}})
        for name, kind, price, income, taxable in DEMO_ITEMS
    }
    for doc_number, (customer, days_ago, lines, option) in enumerate(DEMO_INVOICES, start=1001):
        body: Obj = {
            "CustomerRef": {"value": customers[customer]},
            "DocNumber": str(doc_number),
            "TxnDate": (ctx.today - timedelta(days=days_ago)).isoformat(),
            "Line": [_sales_line(items[name], qty, line_code) for name, qty in lines],
        }
        if option == "discount" and profile.allow_discounts:
            body["Line"].append({"DetailType": "DiscountLineDetail", "Amount": 0, "DiscountLineDetail": {
                "PercentBased": True, "DiscountPercent": 10,
                "DiscountAccountRef": {"value": accounts["Discounts given"]}}})
        if option == "taxable" and tax:
            body["TxnTaxDetail"] = {"TxnTaxCodeRef": {"value": tax["TaxCodeId"]}}
        invoice = create("Invoice", body)
        if option in ("partial", "paid"):
            paid = invoice["TotalAmt"] if option == "paid" else round(invoice["TotalAmt"] / 3, 2)
            create("Payment", {"CustomerRef": {"value": customers[customer]}, "TotalAmt": paid,
                               "TxnDate": invoice["TxnDate"], "PaymentRefNum": f"CHK-{doc_number}",
                               "Line": [{"Amount": paid, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]})


def _creator(ctx: WriteContext) -> Callable[[str, Obj], Obj]:
    def create(entity: str, body: Obj) -> Obj:
        return entities.create(ctx, ENTITIES[entity], body)

    return create


def _sales_line(item: Obj, qty: float, tax_code: str | None) -> Obj:
    price = item["UnitPrice"]
    detail: Obj = {"ItemRef": {"value": item["Id"]}, "Qty": qty, "UnitPrice": price}
    if tax_code:
        detail["TaxCodeRef"] = {"value": tax_code}
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": round(price * qty, 2),
        "Description": item["Name"],
        "SalesItemLineDetail": detail,
    }
