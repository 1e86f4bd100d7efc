"""VAT/GST companies (CA, GB, AU): every sales line carries one of the company's own tax
codes, so Invoiced's tax rates are mapped to those codes.

- The transform step records, per Invoiced line, the rates that tax it (``tax_plan``),
  company-neutral and outside the hashed payload.
- A set of rates maps to the company code whose sales rates have the same percents; when
  several do, the one whose name matches the Invoiced rate's; when still ambiguous, the
  code picked on the Configure page (``tax_code_map``). An untaxed line gets the company's
  zero-rated or exempt code (``include/mappings/defaults.yaml``, ``untaxed_tax_codes``).
- Tax-inclusive rates make the invoice ``TaxInclusive``, each line sent with its gross
  ``TaxInclusiveAmt``.
- Discounts become negative lines on the discount item, at the code of the lines they lower
  (a line's own discount at its code; the invoice's at the codes of the invoice's rates).
- QBO rounds tax per line, Invoiced per rate on the whole invoice, so QBO's total is
  predicted and a cent or two of difference goes on a "tax rounding" line at the untaxed
  code: the total then agrees to the cent. A larger difference (more than a cent a line) is
  not rounding: the invoice is reported instead. Should QBO still total it otherwise (it
  rounded once per rate, say), the load step moves the rounding line by what is left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from accounting_sync.common.values import CENT, RecordRejected, as_float, money, name_key, number
from accounting_sync.config.settings import load_yaml
from accounting_sync.qbo_sync.company import DISCOUNT_ITEM

ROUNDING_ITEM = "setup:tax_rounding"
ROUNDING_NOTE = "Tax rounding: QuickBooks rounds tax per line, Invoiced per invoice"
ROUNDING_PER_LINE = Decimal("0.01")  # what per-line rounding can move the tax by, per line


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# -- Invoiced side (transform step) --------------------------------------------------------


def _rate(tax: dict[str, Any]) -> dict[str, Any]:
    """One applied Invoiced tax as the load step needs it; a flat amount has no rate."""
    rate = tax.get("tax_rate")
    if not isinstance(rate, dict) or not rate.get("is_percent", True):
        return {"id": None, "name": "flat tax amount", "percent": None, "inclusive": False}
    return {
        "id": str(rate.get("id")),
        "name": str(rate.get("name") or rate.get("id")),
        "percent": str(number(rate.get("value", 0), "tax rate")),
        "inclusive": bool(rate.get("inclusive")),
    }


def tax_plan(invoice: dict[str, Any]) -> dict[str, Any]:
    """What a VAT/GST company needs beyond the payload: per item line, the Invoiced rates that
    tax it (its own, plus the invoice's when the line is taxable, as Invoiced leaves
    ``taxable: false`` lines out of the document's base) and its own discounts; the
    invoice's discounts, which Invoiced takes off the base of the invoice's taxes only; and
    Invoiced's total."""
    document = [_rate(tax) for tax in invoice.get("taxes") or []]
    lines = []
    for line in invoice.get("items") or []:
        taxed = bool(document) and line.get("taxable", True) is not False
        lines.append({
            "rates": [_rate(tax) for tax in line.get("taxes") or []] + (document if taxed else []),
            "discount": str(_sum(line.get("discounts"))),
            "document": taxed,
        })
    return {"lines": lines, "discount": str(_sum(invoice.get("discounts"))), "total": str(money(invoice.get("total")))}


def _sum(applied: list[dict[str, Any]] | None) -> Decimal:
    return sum((money(item.get("amount", 0)) for item in applied or []), Decimal(0))


def is_inclusive(plan: dict[str, Any]) -> bool:
    return any(rate["inclusive"] for line in plan["lines"] for rate in line["rates"])


# -- QBO side (load step) ------------------------------------------------------------------


@dataclass(frozen=True)
class CompanyTaxCode:
    id: str
    name: str
    percents: tuple[Decimal, ...]
    rate_names: tuple[str, ...]

    @property
    def percent(self) -> Decimal:
        return sum(self.percents, Decimal(0))

    def named(self, names: set[str]) -> bool:
        return bool({name_key(self.name), *map(name_key, self.rate_names)} & names)


def company_codes(tax_codes: list[dict[str, Any]], tax_rates: list[dict[str, Any]]) -> list[CompanyTaxCode]:
    """The company's active codes with their sales rates (TAX/NON have none: left out)."""
    rates = {str(row["Id"]): row for row in tax_rates}
    codes = []
    for row in tax_codes:
        details = (row.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
        found = [rates[str(d["TaxRateRef"]["value"])] for d in details if str(d["TaxRateRef"]["value"]) in rates]
        if row.get("Active", True) and found:
            codes.append(CompanyTaxCode(
                str(row["Id"]), str(row["Name"]),
                tuple(sorted(money(r.get("RateValue", 0)) for r in found)),
                tuple(str(r.get("Name", "")) for r in found),
            ))
    return codes


class TaxCodes:
    """Chooses the company's code for a set of Invoiced rates."""

    def __init__(self, codes: list[CompanyTaxCode], chosen: dict[str, str], untaxed_choice: str | None = None) -> None:
        """``chosen``: Invoiced rate id -> QBO code name, as picked on the Configure page."""
        self.codes = codes
        self.chosen = {key: name_key(value) for key, value in chosen.items() if value}
        self.untaxed_choice = untaxed_choice

    def by_name(self, name: str) -> CompanyTaxCode | None:
        return next((code for code in self.codes if name_key(code.name) == name_key(name)), None)

    def untaxed(self) -> CompanyTaxCode:
        """The zero-rated or exempt code, in the order of ``untaxed_tax_codes``."""
        for name in ([self.untaxed_choice] if self.untaxed_choice else []) + list(load_yaml("mappings/defaults.yaml")["untaxed_tax_codes"]):
            code = self.by_name(name)
            if code is not None and code.percent == 0:
                return code
        zero = [code for code in self.codes if code.percent == 0]
        if not zero:
            raise RecordRejected("the QuickBooks company has no zero-rated or exempt tax code for untaxed lines",
                                 "Add a zero-rated tax code in QuickBooks.", "missing_tax_code")
        return zero[0]

    def candidates(self, rates: list[dict[str, Any]]) -> list[CompanyTaxCode]:
        """Codes with the same percents, narrowed to those named like the rates when that helps."""
        percents = tuple(sorted(money(rate["percent"]) for rate in rates))
        same = [code for code in self.codes if code.percents == percents]
        named = [code for code in same if code.named({name_key(rate["name"]) for rate in rates})]
        return named or same

    def for_rates(self, rates: list[dict[str, Any]]) -> CompanyTaxCode:
        if not rates:
            return self.untaxed()
        if any(rate["id"] is None for rate in rates):
            raise RecordRejected(
                "the invoice has a flat tax amount, which no VAT/GST tax code of QuickBooks can carry",
                "Apply a tax rate instead of a flat tax amount on Invoiced.", "tax_code_unmapped")
        picked = {self.chosen.get(rate["id"]) for rate in rates}
        if len(picked) == 1 and None not in picked:
            code = self.by_name(str(picked.pop()))
            if code is not None:
                return code
        found = self.candidates(rates)
        if len(found) == 1:
            return found[0]
        names = " + ".join(f"{rate['name']} ({rate['percent']} %)" for rate in rates)
        if not found:
            raise RecordRejected(f"no QuickBooks tax code has the rates of Invoiced's {names}",
                                 "Pick the QuickBooks tax code for this rate on the Configure page.",
                                 "tax_code_unmapped")
        raise RecordRejected(
            f"Invoiced's {names} could be QuickBooks' " + " or ".join(code.name for code in found),
            "Pick the QuickBooks tax code for this rate on the Configure page.", "tax_code_ambiguous")


def fit_global(payload: dict[str, Any], plan: dict[str, Any], codes: TaxCodes) -> dict[str, Any]:
    """The invoice with a company tax code on every line, in the right tax mode. Discounts
    become negative lines on the discount item at the code of the lines they lower (QBO
    would spread a discount line over every line, untaxed ones too); a rounding line covers
    the cents by which QBO's per-line rounding would miss Invoiced's total."""
    inclusive = is_inclusive(plan)
    if inclusive and any(not rate["inclusive"] for line in plan["lines"] for rate in line["rates"]):
        raise RecordRejected("the invoice mixes tax-inclusive and tax-exclusive rates, which QuickBooks cannot hold "
                             "on one invoice", "Use either inclusive or exclusive rates on the invoice.",
                             "tax_mode_mixed")
    lines: list[dict[str, Any]] = []
    document: list[tuple[Decimal, CompanyTaxCode]] = []
    items = (line for line in payload["Line"] if line.get("DetailType") == "SalesItemLineDetail")
    for line, info in zip(items, plan["lines"], strict=True):
        code = codes.for_rates(info["rates"])
        lines.append(on_code(line, code, inclusive))
        own = money(info["discount"])
        if own:
            lines.append(on_code(discount_line(-own), code, inclusive))
        if info["document"]:
            document.append((money(line["Amount"]) - own, code))
    discount = money(plan["discount"])
    for amount, code in _shares(discount, document) if document else [(discount, codes.untaxed())]:
        if amount:
            lines.append(on_code(discount_line(-amount), code, inclusive))
    total = money(plan["total"])
    difference = total - predicted_total(lines, codes, inclusive)
    if abs(difference) > ROUNDING_PER_LINE * len(lines):
        raise RecordRejected(
            f"QuickBooks would total the invoice {total - difference}, Invoiced {total}: more than tax rounding",
            "Check that the invoice's tax rates apply the way QuickBooks applies its tax codes (per line).",
            "tax_total_differs")
    if difference:
        lines.append(on_code(rounding_line(difference), codes.untaxed(), inclusive))
    fitted = {key: value for key, value in payload.items() if key not in ("TxnTaxDetail", "Line")}
    return {**fitted, "Line": lines, "GlobalTaxCalculation": "TaxInclusive" if inclusive else "TaxExcluded"}


def on_code(line: dict[str, Any], code: CompanyTaxCode, inclusive: bool) -> dict[str, Any]:
    detail = {**line["SalesItemLineDetail"], "TaxCodeRef": {"value": code.id}}
    if inclusive:
        detail["TaxInclusiveAmt"] = line["Amount"]
    return {**line, "SalesItemLineDetail": detail}


def _shares(discount: Decimal, bases: list[tuple[Decimal, CompanyTaxCode]]) -> list[tuple[Decimal, CompanyTaxCode]]:
    """The invoice's discount per code, in proportion to the base each code taxes."""
    by_code: dict[str, tuple[Decimal, CompanyTaxCode]] = {}
    for base, code in bases:
        by_code[code.id] = (by_code.get(code.id, (Decimal(0), code))[0] + base, code)
    whole = sum((base for base, _ in by_code.values()), Decimal(0))
    shares = [(_cents(discount * base / whole) if whole else Decimal(0), code) for base, code in by_code.values()]
    rest = discount - sum((share for share, _ in shares[:-1]), Decimal(0))
    return [*shares[:-1], (rest, shares[-1][1])]


def predicted_total(lines: list[dict[str, Any]], codes: TaxCodes, inclusive: bool) -> Decimal:
    """QBO's total as it computes it: inclusive lines total their gross; exclusive lines add
    their tax, half-up per line and rate."""
    by_id = {code.id: code for code in codes.codes}
    total = Decimal(0)
    for line in lines:
        amount = money(line["Amount"])
        code = by_id[line["SalesItemLineDetail"]["TaxCodeRef"]["value"]]
        total += amount if inclusive else amount + sum((_cents(amount * p / 100) for p in code.percents), Decimal(0))
    return total


def discount_line(amount: Decimal) -> dict[str, Any]:
    return {"DetailType": "SalesItemLineDetail", "Amount": as_float(amount), "Description": "Discount",
            "SalesItemLineDetail": {"ItemRef": {"$item": DISCOUNT_ITEM}, "Qty": 1, "UnitPrice": as_float(amount)}}


def rounding_line(difference: Decimal) -> dict[str, Any]:
    return {"DetailType": "SalesItemLineDetail", "Amount": as_float(difference), "Description": ROUNDING_NOTE,
            "SalesItemLineDetail": {"ItemRef": {"$item": ROUNDING_ITEM}, "Qty": 1, "UnitPrice": as_float(difference)}}


def moved_rounding(
    payload: dict[str, Any], difference: Decimal, new_line: Callable[[Decimal], dict[str, Any]]
) -> dict[str, Any]:
    """A written invoice whose rounding line is ``difference`` larger (added or dropped as needed)."""
    lines = [line for line in payload["Line"] if line.get("DetailType") != "SubTotalLineDetail"]
    found = next((line for line in lines if line.get("Description") == ROUNDING_NOTE), None)
    amount = difference + (money(found["Amount"]) if found else Decimal(0))
    kept = [line for line in lines if line is not found]
    return {**payload, "Line": kept + ([new_line(amount)] if amount else [])}


def untaxed_lines(payload: dict[str, Any], codes: TaxCodes) -> dict[str, Any]:
    """A document without tax (the bad-debt credit memo): every line on the untaxed code."""
    code = codes.untaxed()
    lines = [
        {**line, "SalesItemLineDetail": {**line["SalesItemLineDetail"], "TaxCodeRef": {"value": code.id}}}
        if line.get("DetailType") == "SalesItemLineDetail" else line
        for line in payload["Line"]
    ]
    return {**payload, "Line": lines, "GlobalTaxCalculation": "TaxExcluded"}
