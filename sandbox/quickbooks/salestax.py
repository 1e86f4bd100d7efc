"""Sales tax of a sales form in each kind of company: the US legacy model (TAX/NON lines, the
transaction's tax code picks the rates), US automated sales tax (rates from the address) and
the global model of CA, GB and AU (a real tax code on every line). Rounding is half-up to
the cent everywhere; sandbox/README.md documents each rule and its source."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol

from sandbox.quickbooks import errors, profiles
from sandbox.quickbooks.money import amount, cents, money, number
from sandbox.quickbooks.rules import WriteContext, parse_amount
from sandbox.quickbooks.store import Obj

GLOBAL_MODES = ("TaxExcluded", "TaxInclusive", "NotApplicable")
LINE_CODE = "Line.SalesItemLineDetail.TaxCodeRef"


class SalesLines(Protocol):
    """What tax needs from a form's validated lines (transactions._Lines)."""

    subtotal: Decimal
    discount: Decimal

    def sales(self) -> list[Obj]: ...

    def taxable(self, after_discount: bool) -> Decimal: ...


def line_code(ctx: WriteContext, detail: Obj, item: Obj) -> Obj:
    """A SalesItemLine's TaxCodeRef: US `TAX`/`NON` (default from Item.Taxable, else 6100);
    in a global-tax company an existing code is required (6000, Intuit's wording per country)."""
    sent = (detail.get("TaxCodeRef") or {}).get("value")
    profile = ctx.realm.profile
    if profile.global_tax:
        if not sent:
            raise errors.business_validation(profiles.MISSING_TAX_CODE[profile.country])
        return {"value": ctx.reference("TaxCode", {"value": sent}, LINE_CODE)["Id"]}
    code = str(sent or ("TAX" if item.get("Taxable") else "NON"))
    if code not in ("TAX", "NON"):
        raise errors.invalid_line_taxcode(code)
    return {"value": code}


def inclusive_line(ctx: WriteContext, detail: Obj, line_amount: Decimal) -> Decimal:
    """TaxInclusive: a line sent with TaxInclusiveAmt (gross) gets its net Amount from it,
    gross / (1 + rates), half-up; without one, Amount is net and TaxInclusiveAmt is derived."""
    percent = sum(_rates(ctx, detail["TaxCodeRef"]["value"]).values(), Decimal(0))
    sent = detail.get("TaxInclusiveAmt")
    gross = parse_amount(sent, "Line.SalesItemLineDetail.TaxInclusiveAmt") if sent not in (None, 0) else None
    if gross is None:
        detail["TaxInclusiveAmt"] = amount(line_amount + cents(line_amount * percent / 100))
        return line_amount
    detail["TaxInclusiveAmt"] = amount(gross)
    return cents(gross * 100 / (100 + percent))


def tax_detail(ctx: WriteContext, obj: Obj, lines: SalesLines) -> tuple[Obj, Decimal]:
    """TxnTaxDetail and total tax of the form for the realm's tax model."""
    profile = ctx.realm.profile
    if not ctx.realm.preferences["TaxPrefs"]["UsingSalesTax"]:
        return {"TotalTax": 0}, Decimal(0)
    if profile.global_tax:
        return _global(ctx, obj, lines)
    if profile.automated_sales_tax:
        return _automated(ctx, obj, lines)
    return _legacy(ctx, obj, lines)


def global_mode(obj: Obj) -> str:
    mode = str(obj.get("GlobalTaxCalculation") or "TaxExcluded")
    if mode not in GLOBAL_MODES:
        raise errors.invalid_enumeration("GlobalTaxCalculation", mode)
    return mode


def _rates(ctx: WriteContext, code_id: str) -> dict[str, Decimal]:
    """Sales TaxRate id -> percent of a tax code."""
    code = ctx.realm.get("TaxCode", code_id) or {}
    rates: dict[str, Decimal] = {}
    for rate_detail in code.get("SalesTaxRateList", {}).get("TaxRateDetail", []):
        rate = ctx.realm.get("TaxRate", rate_detail["TaxRateRef"]["value"])
        if rate is not None:
            rates[rate["Id"]] = money(rate["RateValue"])
    return rates


def _tax_line(rate_id: str, percent: Decimal, base: Decimal, tax: Decimal) -> Obj:
    return {
        "Amount": amount(tax),
        "DetailType": "TaxLineDetail",
        "TaxLineDetail": {"TaxRateRef": {"value": rate_id}, "PercentBased": True,
                          "TaxPercent": number(percent), "NetAmountTaxable": amount(base)},
    }


def _result(code_id: str | None, tax_lines: list[Obj]) -> tuple[Obj, Decimal]:
    total = sum((money(line["Amount"]) for line in tax_lines), Decimal(0))
    detail: Obj = {"TotalTax": amount(total), "TaxLine": tax_lines}
    if code_id:
        detail["TxnTaxCodeRef"] = {"value": code_id}
    return detail, total


def _override(ctx: WriteContext, requested: Obj, tax_lines: list[Obj]) -> tuple[Obj, Decimal] | None:
    """A supplied TotalTax with a TxnTaxCodeRef replaces the computed total (Intuit: "you may
    supply it"; under AST the only control, intuit/QuickBooks-V3-PHP-SDK#199). The first
    TaxLine keeps its rate and base, so a client can still see what would have been charged."""
    code_ref = requested.get("TxnTaxCodeRef")
    if requested.get("TotalTax") is None or not code_ref:
        return None
    code = ctx.reference("TaxCode", code_ref, "TxnTaxDetail.TxnTaxCodeRef")
    total = cents(parse_amount(requested["TotalTax"], "TxnTaxDetail.TotalTax"))
    kept = [{**tax_lines[0], "Amount": amount(total)}] if tax_lines else []
    return {"TxnTaxCodeRef": {"value": code["Id"]}, "TotalTax": amount(total), "TaxLine": kept}, total


def _legacy(ctx: WriteContext, obj: Obj, lines: SalesLines) -> tuple[Obj, Decimal]:
    """US without AST: the transaction's TaxCode rates on the taxable lines, half-up per rate."""
    requested = obj.get("TxnTaxDetail") or {}
    code_ref = requested.get("TxnTaxCodeRef")
    if not code_ref:
        return {"TotalTax": 0}, Decimal(0)
    code = ctx.reference("TaxCode", code_ref, "TxnTaxDetail.TxnTaxCodeRef")
    base = lines.taxable(bool(obj.get("ApplyTaxAfterDiscount")))
    tax_lines = [_tax_line(rate_id, percent, base, cents(base * percent / 100))
                 for rate_id, percent in _rates(ctx, code["Id"]).items()]
    return _override(ctx, requested, tax_lines) or _result(code["Id"], tax_lines)


def _address(ctx: WriteContext, obj: Obj) -> Obj:
    """Where AST taxes: the form's ShipAddr, else its BillAddr, else the customer's, else the company's."""
    customer = ctx.realm.get("Customer", obj["CustomerRef"]["value"]) or {}
    for holder, field in ((obj, "ShipAddr"), (obj, "BillAddr"), (customer, "ShipAddr"), (customer, "BillAddr")):
        address = holder.get(field)
        if isinstance(address, dict) and (address.get("CountrySubDivisionCode") or address.get("PostalCode")):
            return address
    company_address: Obj = ctx.realm.company_info["CompanyAddr"]
    return company_address


def _automated(ctx: WriteContext, obj: Obj, lines: SalesLines) -> tuple[Obj, Decimal]:
    """AST: the line codes only say what is taxable; the rate comes from the address and the
    sandbox's table (profiles.AST_*); only TotalTax with a TxnTaxCodeRef overrides it, and
    only while the profile's `ast_override` is "honoured" (else the engine's tax stands)."""
    jurisdiction, percent = profiles.ast_rate(_address(ctx, obj))
    code = next(row for row in ctx.realm.rows("TaxCode") if row["Name"] == jurisdiction)
    base = lines.taxable(bool(obj.get("ApplyTaxAfterDiscount")))
    rate_id = next(iter(_rates(ctx, code["Id"])))
    tax_lines = [_tax_line(rate_id, percent, base, cents(base * percent / 100))]
    honoured = ctx.realm.profile.ast_override == "honoured"
    override = _override(ctx, obj.get("TxnTaxDetail") or {}, tax_lines) if honoured else None
    return override or _result(code["Id"], tax_lines)


def _split(total: Decimal, percents: Iterable[Decimal]) -> list[Decimal]:
    """A line's inclusive tax shared over its rates in proportion, the last rate taking the rest."""
    percents = list(percents)
    whole = sum(percents, Decimal(0))
    shares = [cents(total * percent / whole) if whole else Decimal(0) for percent in percents[:-1]]
    return [*shares, total - sum(shares, Decimal(0))]


def _global(ctx: WriteContext, obj: Obj, lines: SalesLines) -> tuple[Obj, Decimal]:
    """Global model: each line taxed at its own code's rates, TaxLine per rate. A document
    discount lowers each line's base by its share. `global_tax_rounding` "line" rounds each
    line's tax, "rate" the sum of a rate's bases. Supplied TotalTax is ignored (our reading)."""
    mode = global_mode(obj)
    if mode == "NotApplicable":
        return {"TotalTax": 0, "TaxLine": []}, Decimal(0)
    share = (lines.subtotal - lines.discount) / lines.subtotal if lines.discount and lines.subtotal else Decimal(1)
    bases: dict[str, Decimal] = {}
    taxes: dict[str, Decimal] = {}
    percents: dict[str, Decimal] = {}
    for line in lines.sales():
        detail = line["SalesItemLineDetail"]
        rates = _rates(ctx, detail["TaxCodeRef"]["value"])
        base = cents(money(line["Amount"]) * share)
        if mode == "TaxInclusive" and detail.get("TaxInclusiveAmt"):
            line_taxes = _split(cents(money(detail["TaxInclusiveAmt"]) * share) - base, rates.values())
        else:
            line_taxes = [cents(base * percent / 100) for percent in rates.values()]
        for (rate_id, percent), tax in zip(rates.items(), line_taxes, strict=True):
            percents[rate_id] = percent
            bases[rate_id] = bases.get(rate_id, Decimal(0)) + base
            taxes[rate_id] = taxes.get(rate_id, Decimal(0)) + tax
    if ctx.config.global_tax_rounding == "rate" and mode == "TaxExcluded":
        taxes = {rate_id: cents(bases[rate_id] * percents[rate_id] / 100) for rate_id in bases}
    tax_lines = [_tax_line(rate_id, percents[rate_id], bases[rate_id], taxes[rate_id]) for rate_id in bases]
    return _result(None, tax_lines)
