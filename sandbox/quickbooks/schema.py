"""Which fields each QBO entity has, so unknown ones are rejected (fault 2010) like Intuit does.

Field lists follow Intuit's API reference and python-quickbooks' object models; the latter
sends many defaulted fields, which QBO accepts, so they must be known here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SYSTEM_FIELDS = frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse", "status"})

_PERSON = {
    "Title", "GivenName", "MiddleName", "FamilyName", "Suffix", "DisplayName", "PrintOnCheckName",
    "Active", "PrimaryPhone", "AlternatePhone", "Mobile", "Fax", "PrimaryEmailAddr", "WebAddr",
    "CompanyName", "BillAddr", "CurrencyRef", "Source",
}
_SALES_FORM = {
    "DocNumber", "TxnDate", "PrivateNote", "CustomerMemo", "BillEmail", "BillEmailCc", "BillEmailBcc",
    "BillAddr", "ShipAddr", "ShipFromAddr", "CustomerRef", "SalesTermRef", "ClassRef", "DepartmentRef",
    "CurrencyRef", "ExchangeRate", "Line", "TxnTaxDetail", "ApplyTaxAfterDiscount", "GlobalTaxCalculation",
    "EmailStatus", "PrintStatus", "CustomField", "TxnSource", "TransactionLocationType", "ProjectRef",
    "TaxExemptionRef", "FreeFormAddress", "DepositToAccountRef", "PaymentMethodRef", "ShipMethodRef",
    "ShipDate", "TrackingNum", "RecurDataRef",
}


@dataclass(frozen=True)
class EntitySpec:
    """One entity type: its wire name, URL segment, writable and read-only fields."""

    name: str
    kind: str  # "name" (name list), "txn" (transaction), "tax" (read-only tax lists)
    writable: frozenset[str]
    readonly: frozenset[str] = field(default_factory=frozenset)

    @property
    def path(self) -> str:
        return self.name.lower()

    @property
    def known(self) -> frozenset[str]:
        return self.writable | self.readonly | SYSTEM_FIELDS


def _spec(name: str, kind: str, writable: set[str], readonly: set[str] | frozenset[str] = frozenset()) -> EntitySpec:
    return EntitySpec(name, kind, frozenset(writable), frozenset(readonly))


ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        _spec(
            "Customer",
            "name",
            _PERSON
            | {
                "ShipAddr", "Notes", "Job", "BillWithParent", "ParentRef", "SalesTermRef", "PaymentMethodRef",
                "OpenBalanceDate", "PreferredDeliveryMethod", "ResaleNum", "PrimaryTaxIdentifier",
                "SecondaryTaxIdentifier", "ARAccountRef", "DefaultTaxCodeRef", "Taxable",
                "TaxExemptionReasonId", "IsProject", "CustomerTypeRef", "GSTIN", "GSTRegistrationType",
                "BusinessNumber", "ClientEntityId",
            },
            {"Balance", "BalanceWithJobs", "FullyQualifiedName", "Level"},
        ),
        _spec(
            "Vendor",
            "name",
            _PERSON | {"AcctNum", "Vendor1099", "TaxIdentifier", "TermRef", "APAccountRef", "BillRate",
                       "TaxReportingBasis", "OtherContactInfo"},
            {"Balance"},
        ),
        _spec(
            "Employee",
            "name",
            (_PERSON - {"CompanyName", "BillAddr", "CurrencyRef", "WebAddr", "AlternatePhone", "Fax"})
            | {"PrimaryAddr", "EmployeeNumber", "SSN", "BillableTime", "BillRate", "CostRate", "BirthDate",
               "Gender", "HiredDate", "ReleasedDate", "Organization", "EmailAddress"},
        ),
        _spec(
            "Item",
            "name",
            {
                "Name", "Sku", "Description", "Active", "SubItem", "ParentRef", "Taxable", "SalesTaxIncluded",
                "UnitPrice", "Type", "IncomeAccountRef", "PurchaseDesc", "PurchaseTaxIncluded", "PurchaseCost",
                "ExpenseAccountRef", "AssetAccountRef", "TrackQtyOnHand", "QtyOnHand", "InvStartDate",
                "SalesTaxCodeRef", "PurchaseTaxCodeRef", "ClassRef", "PrefVendorRef", "ReorderPoint",
                "AbatementRate", "ReverseChargeRate", "ServiceType", "ItemCategoryType", "Source",
                "TaxClassificationRef", "UQCDisplayText", "UQCId",
            },
            {"FullyQualifiedName", "Level"},
        ),
        _spec(
            "Account",
            "name",
            {
                "Name", "AcctNum", "Description", "Active", "SubAccount", "ParentRef", "AccountType",
                "AccountSubType", "CurrencyRef", "TaxCodeRef", "OpeningBalance", "OpeningBalanceDate",
                "AccountAlias", "TxnLocationType",
            },
            {"FullyQualifiedName", "Classification", "CurrentBalance", "CurrentBalanceWithSubAccounts"},
        ),
        _spec("Class", "name", {"Name", "SubClass", "ParentRef", "Active"}, {"FullyQualifiedName"}),
        _spec("Department", "name", {"Name", "SubDepartment", "ParentRef", "Active"}, {"FullyQualifiedName"}),
        _spec(
            "Term",
            "name",
            {"Name", "Active", "Type", "DueDays", "DiscountPercent", "DiscountDays", "DayOfMonthDue",
             "DueNextMonthDays", "DiscountDayOfMonth"},
        ),
        _spec(
            "TaxCode",
            "tax",
            set(),
            {"Name", "Description", "Active", "Taxable", "TaxGroup", "Hidden", "SalesTaxRateList",
             "PurchaseTaxRateList", "TaxCodeConfigType"},
        ),
        _spec(
            "TaxRate",
            "tax",
            set(),
            {"Name", "Description", "Active", "RateValue", "AgencyRef", "SpecialTaxType", "DisplayType",
             "EffectiveTaxRate", "TaxReturnLineRef"},
        ),
        _spec("TaxAgency", "tax", set(), {"DisplayName", "TaxTrackedOnSales", "TaxTrackedOnPurchases"}),
        _spec("CompanyCurrency", "tax", set(), {"Code", "Name", "Active"}),
        _spec(
            "Invoice",
            "txn",
            _SALES_FORM
            | {"DueDate", "AllowIPNPayment", "AllowOnlinePayment", "AllowOnlineCreditCardPayment",
               "AllowOnlineACHPayment", "Deposit", "DeliveryInfo", "EInvoiceStatus"},
            {"TotalAmt", "Balance", "HomeTotalAmt", "HomeBalance", "InvoiceLink", "LinkedTxn"},
        ),
        _spec("CreditMemo", "txn", _SALES_FORM, {"TotalAmt", "Balance", "RemainingCredit", "HomeTotalAmt", "LinkedTxn"}),
        _spec(
            "RefundReceipt",
            "txn",
            _SALES_FORM | {"PaymentRefNum", "CheckPayment", "CreditCardPayment"},
            {"TotalAmt", "Balance", "HomeTotalAmt", "HomeBalance", "LinkedTxn"},
        ),
        _spec(
            "Payment",
            "txn",
            {
                "CustomerRef", "TotalAmt", "TxnDate", "PaymentRefNum", "PaymentMethodRef", "DepositToAccountRef",
                "ARAccountRef", "PrivateNote", "CurrencyRef", "ExchangeRate", "Line", "ProcessPayment",
                "CreditCardPayment", "TxnSource", "TransactionLocationType", "TaxExemptionRef", "ProjectRef",
            },
            {"UnappliedAmt", "TxnStatus", "LinkedTxn", "HomeTotalAmt"},
        ),
    )
}

NAME_LIST = frozenset(name for name, spec in ENTITIES.items() if spec.kind == "name")
"""Entities whose query results hide inactive rows unless the WHERE mentions `Active`."""
ACTIVE_FILTERED = NAME_LIST | {"TaxCode", "TaxRate"}
PEOPLE = frozenset({"Customer", "Vendor", "Employee"})
LISTS = frozenset({"Class", "Department", "Term"})
"""Lists a sales form refers to by ``ClassRef``, ``DepartmentRef`` (a location) and ``SalesTermRef``."""

LINE_FIELDS = frozenset({"Id", "LineNum", "Description", "Amount", "DetailType", "LinkedTxn", "CustomField",
                         "LineEx", "ProjectRef", "Received"})
LINE_DETAILS: dict[str, frozenset[str]] = {
    "SalesItemLineDetail": frozenset({
        "ItemRef", "ClassRef", "UnitPrice", "RatePercent", "PriceLevelRef", "MarkupInfo", "Qty", "UOMRef",
        "ItemAccountRef", "TaxCodeRef", "ServiceDate", "TaxClassificationRef", "TaxInclusiveAmt", "DiscountRate",
        "DiscountAmt",
    }),
    "DiscountLineDetail": frozenset({"PercentBased", "DiscountPercent", "DiscountAccountRef", "ClassRef",
                                     "TaxCodeRef", "Discount"}),
    "SubTotalLineDetail": frozenset({"ItemRef"}),
    "DescriptionOnly": frozenset({"ServiceDate", "TaxCodeRef"}),
}
DETAIL_KEYS = {"SalesItemLineDetail": "SalesItemLineDetail", "DiscountLineDetail": "DiscountLineDetail",
               "SubTotalLineDetail": "SubTotalLineDetail", "DescriptionOnly": "DescriptionLineDetail"}
DETAIL_TYPES = (
    "JournalEntryLineDetail, DepositLineDetail, SalesItemLineDetail, PurchaseOrderItemLineDetail, "
    "DiscountLineDetail, TDSLineDetail, SubTotalLineDetail, ItemReceiptLineDetail, PaymentLineDetail, "
    "TaxLineDetail, AccountBasedExpenseLineDetail, SalesOrderItemLineDetail, ItemBasedExpenseLineDetail, "
    "GroupLineDetail, DescriptionOnly"
)
PAYMENT_LINE_FIELDS = frozenset({"Id", "Amount", "LinkedTxn", "LineEx", "Description", "LineNum"})

ACCOUNT_TYPES: dict[str, str] = {
    "Bank": "Asset",
    "Accounts Receivable": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Other Current Liability": "Liability",
    "Long Term Liability": "Liability",
    "Equity": "Equity",
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Cost of Goods Sold": "Expense",
    "Expense": "Expense",
    "Other Expense": "Expense",
}
ACCOUNT_SUBTYPES: dict[str, str] = {
    "Checking": "Bank",
    "Savings": "Bank",
    "AccountsReceivable": "Accounts Receivable",
    "UndepositedFunds": "Other Current Asset",
    "AllowanceForBadDebts": "Other Current Asset",
    "OtherCurrentAssets": "Other Current Asset",
    "AccountsPayable": "Accounts Payable",
    "SalesOfProductIncome": "Income",
    "ServiceFeeIncome": "Income",
    "DiscountsRefundsGiven": "Income",
    "ExchangeGainOrLoss": "Other Income",
    "OtherPrimaryIncome": "Income",
    "BadDebts": "Expense",
    "OfficeGeneralAdministrativeExpenses": "Expense",
    "SuppliesMaterialsCogs": "Cost of Goods Sold",
    "OpeningBalanceEquity": "Equity",
}
ITEM_TYPES = frozenset({"Service", "NonInventory", "Inventory"})


def spec_for_path(segment: str) -> EntitySpec | None:
    """URL segments are lowercase in Intuit's docs; accept any case."""
    return _BY_PATH.get(segment.lower())


def spec_for_name(name: str) -> EntitySpec | None:
    """Entity names in queries are case-insensitive."""
    return _BY_PATH.get(name.lower())


_BY_PATH = {spec.path: spec for spec in ENTITIES.values()}
