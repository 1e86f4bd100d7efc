"""Company set-up: the empty company every realm starts as, and the demo data to import from.

Demo objects are created through the same validation code as API writes, so the seed
can never hold data the API itself would refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sandbox.quickbooks import entities, taxes
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
TAX_AGENCY = "California Department of Tax and Fee Administration"

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


def initialize_company(ctx: WriteContext) -> None:
    """A new QBO company: preferences, a default chart of accounts and US sales-tax pseudo codes."""
    realm = ctx.realm
    realm.preferences = _preferences(ctx)
    realm.company_info = _company_info(ctx)
    for name, subtype in DEFAULT_ACCOUNTS:
        entities.create(ctx, ENTITIES["Account"], {"Name": name, "AccountSubType": subtype})
    agency = {"DisplayName": TAX_AGENCY, "TaxTrackedOnSales": True, "TaxTrackedOnPurchases": False}
    realm.put("TaxAgency", stamp_new(ctx, "TaxAgency", agency))
    for code in ("TAX", "NON"):
        realm.put("TaxCode", stamp_new(ctx, "TaxCode", _pseudo_tax_code(code), obj_id=code))


def _pseudo_tax_code(code: str) -> Obj:
    """US companies expose TAX/NON, the only valid line-level tax codes."""
    return {
        "Name": code, "Description": "Taxable" if code == "TAX" else "Non-Taxable", "Active": True,
        "Taxable": code == "TAX", "TaxGroup": False, "Hidden": False,
        "SalesTaxRateList": {"TaxRateDetail": []}, "PurchaseTaxRateList": {"TaxRateDetail": []},
        "TaxCodeConfigType": "SYSTEM_GENERATED",
    }


def _preferences(ctx: WriteContext) -> Obj:
    return stamp_new(ctx, "Preferences", {
        "AccountingInfoPrefs": {"TrackDepartments": False, "ClassTrackingPerTxn": False,
                                "CustomerTerminology": "Customers", "FirstMonthOfFiscalYear": "January"},
        "SalesFormsPrefs": {"CustomTxnNumbers": ctx.config.custom_txn_numbers, "AllowDiscount": True,
                            "AllowDeposit": True, "AllowShipping": False, "AutoApplyCredit": True,
                            "ETransactionEnabledStatus": "NotApplicable"},
        "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": False},
        "CurrencyPrefs": {"HomeCurrency": {"value": "USD"}, "MultiCurrencyEnabled": False},
    }, obj_id="1")


def _company_info(ctx: WriteContext) -> Obj:
    address = {"Id": "1", "Line1": "2700 Coast Ave", "City": "Mountain View", "CountrySubDivisionCode": "CA",
               "PostalCode": "94043", "Country": "US"}
    name = ctx.realm.company_name
    return stamp_new(ctx, "CompanyInfo", {
        "CompanyName": name, "LegalName": name, "CompanyAddr": address, "CustomerCommunicationAddr": address,
        "LegalAddr": address, "PrimaryPhone": {}, "CompanyStartDate": ctx.today.replace(month=1, day=1).isoformat(),
        "FiscalYearStartMonth": "January", "Country": "US", "Email": {"Address": "noreply@quickbooks.example"},
        "WebAddr": {}, "SupportedLanguages": "en",
        "NameValue": [{"Name": "OfferingSku", "Value": "QuickBooks Online Plus"}],
    }, obj_id="1")


def seed_demo(ctx: WriteContext) -> None:
    """Add a small, realistic QBO-only company on top of an empty realm."""
    create = _creator(ctx)
    create("Account", {"Name": "Bad Debts", "AccountSubType": "BadDebts"})
    accounts = {account["Name"]: account["Id"] for account in ctx.realm.rows("Account")}
    tax = taxes.create_tax_code(ctx, {"TaxCode": "California", "TaxRateDetails": [
        {"TaxRateName": "California State Sales Tax", "RateValue": 8.25, "TaxAgencyId": "1",
         "TaxApplicableOn": "Sales"}]})
    customers = [create("Customer", customer)["Id"] for customer in DEMO_CUSTOMERS]
    create("Vendor", {"DisplayName": "Northwind Supplies", "CompanyName": "Northwind Supplies"})
    items = {
        name: create("Item", {"Name": name, "Type": kind, "UnitPrice": price, "Taxable": taxable,
                              "IncomeAccountRef": {"value": accounts[income]}})
        for name, kind, price, income, taxable in DEMO_ITEMS
    }
    for number, (customer, days_ago, lines, option) in enumerate(DEMO_INVOICES, start=1001):
        body: Obj = {
            "CustomerRef": {"value": customers[customer]},
            "DocNumber": str(number),
            "TxnDate": (ctx.today - timedelta(days=days_ago)).isoformat(),
            "Line": [_sales_line(items[name], qty) for name, qty in lines],
        }
        if option == "discount":
            body["Line"].append({"DetailType": "DiscountLineDetail", "Amount": 0, "DiscountLineDetail": {
                "PercentBased": True, "DiscountPercent": 10,
                "DiscountAccountRef": {"value": accounts["Discounts given"]}}})
        if option == "taxable":
            body["TxnTaxDetail"] = {"TxnTaxCodeRef": {"value": tax["TaxCodeId"]}}
        invoice = create("Invoice", body)
        if option in ("partial", "paid"):
            paid = invoice["TotalAmt"] if option == "paid" else round(invoice["TotalAmt"] / 3, 2)
            create("Payment", {"CustomerRef": {"value": customers[customer]}, "TotalAmt": paid,
                               "TxnDate": invoice["TxnDate"], "PaymentRefNum": f"CHK-{number}",
                               "Line": [{"Amount": paid, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]})


def _creator(ctx: WriteContext) -> Callable[[str, Obj], Obj]:
    def create(entity: str, body: Obj) -> Obj:
        return entities.create(ctx, ENTITIES[entity], body)

    return create


def _sales_line(item: Obj, qty: float) -> Obj:
    price = item["UnitPrice"]
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": round(price * qty, 2),
        "Description": item["Name"],
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": qty, "UnitPrice": price},
    }
