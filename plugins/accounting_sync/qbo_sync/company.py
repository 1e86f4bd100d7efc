"""What kind of QuickBooks company the sync writes to, read once per run from Preferences,
and how a planned invoice is fitted to it.

The transform step plans one company-neutral payload (hashed, so a changed preference
does not rewrite every invoice); the load step fits it to the company just before writing:

- automated sales tax (US): QBO taxes by address unless the transaction overrides the
  total, so Invoiced's tax is always sent as the override, 0 for untaxed invoices, on one
  of the company's own tax codes; nothing is created through the tax service;
- discounts off: QBO refuses discount lines, so a discount becomes a negative line on the
  discount item;
- custom transaction numbers off: QBO numbers invoices itself, so the Invoiced number goes
  to the private note (which is what re-runs look invoices up by) and no DocNumber is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP
from typing import Any

from accounting_sync.common.values import CENT, money

DISCOUNT_ITEM = "setup:discount"


@dataclass(frozen=True)
class CompanyKind:
    """The preferences that change what an invoice must look like."""

    automated_sales_tax: bool = False
    allow_discounts: bool = True
    custom_txn_numbers: bool = True
    multicurrency: bool = False
    home_currency: str | None = None
    country: str = "US"

    @property
    def global_tax(self) -> bool:
        """Outside the US every line needs one of the company's own VAT/GST codes."""
        return self.country != "US"

    @property
    def legacy_sales_tax(self) -> bool:
        """Only a US company without AST takes the one tax code of the mapping (TaxService)."""
        return not self.global_tax and not self.automated_sales_tax

    @classmethod
    def from_preferences(cls, preferences: dict[str, Any], country: str | None = None) -> CompanyKind:
        """Intuit: `PartnerTaxEnabled` true means AST is on (absent: not an AST company);
        the country comes from CompanyInfo."""
        sales = preferences.get("SalesFormsPrefs") or {}
        currency = preferences.get("CurrencyPrefs") or {}
        home = currency.get("HomeCurrency")
        if isinstance(home, dict):
            home = home.get("value")
        return cls(
            automated_sales_tax=bool((preferences.get("TaxPrefs") or {}).get("PartnerTaxEnabled")),
            allow_discounts=sales.get("AllowDiscount", True) is not False,
            custom_txn_numbers=sales.get("CustomTxnNumbers", True) is not False,
            multicurrency=bool(currency.get("MultiCurrencyEnabled")),
            home_currency=str(home).upper() if home else None,
            country=(country or "US").upper(),
        )

    def describe(self) -> str:
        """For logs and the Configure page: which kind of company is connected."""
        parts = [f"{self.country} company",
                 "automated sales tax" if self.automated_sales_tax else "VAT/GST codes" if self.global_tax else "sales tax codes"]
        if self.multicurrency:
            parts.append(f"multicurrency (home {self.home_currency})")
        if not self.allow_discounts:
            parts.append("discounts off")
        if not self.custom_txn_numbers:
            parts.append("QuickBooks numbers documents")
        return ", ".join(parts)


def fit_invoice(payload: dict[str, Any], kind: CompanyKind, number: str | None) -> dict[str, Any]:
    """The planned invoice (placeholders still in it) as this kind of company needs it."""
    fitted = dict(payload)
    if kind.automated_sales_tax:
        tax = fitted.get("TxnTaxDetail") or {}
        fitted["TxnTaxDetail"] = {"TxnTaxCodeRef": {"$taxcode": "default"}, "TotalTax": tax.get("TotalTax", 0.0)}
    if not kind.allow_discounts:
        fitted["Line"] = [_discount_as_line(line) for line in fitted["Line"]]
    if not kind.custom_txn_numbers:
        fitted.pop("DocNumber", None)
        note = str(fitted.get("PrivateNote") or "")
        if number and f"number {number}" not in note:
            fitted["PrivateNote"] = f"{note}, number {number}" if note else f"number {number}"
    return fitted


def needs_discount_item(payload: dict[str, Any], kind: CompanyKind) -> bool:
    """Discounts off, or a VAT/GST company (globaltax): discounts are lines on the discount item."""
    off = not kind.allow_discounts or kind.global_tax
    return off and any(line.get("DetailType") == "DiscountLineDetail" for line in payload["Line"])


def _discount_as_line(line: dict[str, Any]) -> dict[str, Any]:
    if line.get("DetailType") != "DiscountLineDetail":
        return line
    amount = -float(line["Amount"])
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "Description": "Discount",
        "SalesItemLineDetail": {
            "ItemRef": {"$item": DISCOUNT_ITEM}, "Qty": 1, "UnitPrice": amount, "TaxCodeRef": {"value": "NON"},
        },
    }


def computed_tax_differs(written: dict[str, Any]) -> str | None:
    """Under AST, what QBO would have charged (its tax line's rate on its taxable base)
    when that differs from the override written; None when they agree."""
    detail = written.get("TxnTaxDetail") or {}
    lines = detail.get("TaxLine") or []
    if not lines:
        return None
    tax_line = lines[0].get("TaxLineDetail") or {}
    percent = money(tax_line.get("TaxPercent") or 0)
    computed = (money(tax_line.get("NetAmountTaxable") or 0) * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    sent = money(detail.get("TotalTax") or 0)
    if computed == sent:
        return None
    return f"QuickBooks' automated sales tax would have charged {computed} ({percent} %); Invoiced's {sent} was written"
