"""VAT/GST companies (CA, GB, AU): every sales line carries one of the company's own tax
codes, so Invoiced's tax rates are mapped to those codes.

- The transform step records, per Invoiced line, the rates that tax it (``tax_plan``),
  company-neutral and outside the hashed payload, with Invoiced's tax per rate.
- A set of rates maps to the company code whose sales rates have the same percents; when
  several do, the one whose name matches the Invoiced rate's; when still ambiguous, the
  code picked on the Configure page (``tax_code_map``). An untaxed line gets the company's
  zero-rated or exempt code (``include/mappings/defaults.yaml``, ``untaxed_tax_codes``).
- Tax-inclusive rates make the invoice ``TaxInclusive``, each line sent with its gross
  ``TaxInclusiveAmt``.
- Discounts become negative lines on the discount item, at the code of the lines they lower
  (a line's own discount at its code; the invoice's at the codes of the invoice's rates).
- QBO rounds tax per line (an inclusive line's tax is its gross less the net it rounds
  half-up), Invoiced per rate on the whole invoice, so QBO's tax is predicted per rate
  (``QboTax``). Where a rate's tax would differ by cents, a pair of "tax rounding" lines
  evens it out: one on a code carrying just that rate (else the invoice's code that has
  it), of the smallest amount on which QBO charges exactly the difference, and one at the
  untaxed code taking that amount back off. QBO's tax per rate (``TxnTaxDetail``) is then
  Invoiced's, and so are its total and its income (total less tax). A cent left on the
  total goes on the untaxed line too. More than a cent a line is not rounding: the invoice
  is reported (``tax_total_differs``), as is one whose cent no code can carry
  (``tax_rounding_unplaced``). Should QBO still tax it otherwise (once per rate, say), the
  load step fits it again under that reading (``refitted``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from accounting_sync.common.values import CENT, RecordRejected, as_float, money, name_key, number
from accounting_sync.config.settings import load_yaml
from accounting_sync.qbo_sync.company import DISCOUNT_ITEM

ROUNDING_ITEM = "setup:tax_rounding"
ROUNDING_NOTE = "Tax rounding: QuickBooks rounds tax per line, Invoiced per invoice"
ROUNDING_PER_LINE = Decimal("0.01")  # what per-line rounding can move the tax by, per line
SEARCH_CENTS = 10_000  # how far a rounding line's amount is looked for, in cents


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


def applied_taxes(invoice: dict[str, Any]) -> list[dict[str, Any]]:
    """Every tax Invoiced applied to the document: its own, then its lines'."""
    return [*(invoice.get("taxes") or []), *(tax for line in invoice.get("items") or [] for tax in line.get("taxes") or [])]


def tax_plan(invoice: dict[str, Any]) -> dict[str, Any]:
    """What a VAT/GST company needs beyond the payload: per item line, the Invoiced rates that
    tax it (its own, plus the invoice's when the line is taxable, as Invoiced leaves
    ``taxable: false`` lines out of the document's base) and its own discounts; the
    invoice's discounts, which Invoiced takes off the base of the invoice's taxes only;
    Invoiced's tax per rate id and its total."""
    document = [_rate(tax) for tax in invoice.get("taxes") or []]
    lines = []
    for line in invoice.get("items") or []:
        taxed = bool(document) and line.get("taxable", True) is not False
        lines.append({
            "rates": [_rate(tax) for tax in line.get("taxes") or []] + (document if taxed else []),
            "discount": str(_sum(line.get("discounts"))),
            "document": taxed,
        })
    taxes: dict[str, Decimal] = {}
    for tax in applied_taxes(invoice):
        key = str(_rate(tax)["id"])
        taxes[key] = taxes.get(key, Decimal(0)) + money(tax.get("amount", 0))
    return {"lines": lines, "discount": str(_sum(invoice.get("discounts"))),
            "taxes": {key: str(amount) for key, amount in taxes.items()}, "total": str(money(invoice.get("total")))}


def _sum(applied: list[dict[str, Any]] | None) -> Decimal:
    return sum((money(item.get("amount", 0)) for item in applied or []), Decimal(0))


def is_inclusive(plan: dict[str, Any]) -> bool:
    return any(rate["inclusive"] for line in plan["lines"] for rate in line["rates"])


# -- QBO side (load step) ------------------------------------------------------------------


@dataclass(frozen=True)
class CompanyRate:
    """A sales TaxRate of the company: QBO reports tax per rate."""

    id: str
    name: str
    percent: Decimal


@dataclass(frozen=True)
class CompanyTaxCode:
    id: str
    name: str
    rates: tuple[CompanyRate, ...]  # in the code's order, which QBO shares an inclusive line's tax in

    @property
    def percents(self) -> tuple[Decimal, ...]:
        return tuple(sorted(rate.percent for rate in self.rates))

    @property
    def percent(self) -> Decimal:
        return sum(self.percents, Decimal(0))

    @property
    def rate_ids(self) -> frozenset[str]:
        return frozenset(rate.id for rate in self.rates)

    def named(self, names: set[str]) -> bool:
        return bool({name_key(self.name), *(name_key(rate.name) for rate in self.rates)} & names)


def company_codes(tax_codes: list[dict[str, Any]], tax_rates: list[dict[str, Any]]) -> list[CompanyTaxCode]:
    """The company's active codes with their sales rates (TAX/NON have none: left out)."""
    rates = {str(row["Id"]): row for row in tax_rates}
    codes = []
    for row in tax_codes:
        details = (row.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
        found = [rates[str(d["TaxRateRef"]["value"])] for d in details if str(d["TaxRateRef"]["value"]) in rates]
        if row.get("Active", True) and found:
            codes.append(CompanyTaxCode(str(row["Id"]), str(row["Name"]), tuple(
                CompanyRate(str(r["Id"]), str(r.get("Name", "")), money(r.get("RateValue", 0))) for r in found)))
    return codes


class TaxCodes:
    """Chooses the company's code for a set of Invoiced rates."""

    def __init__(self, codes: list[CompanyTaxCode], chosen: dict[str, str], untaxed_choice: str | None = None) -> None:
        """``chosen``: Invoiced rate id -> QBO code name, as picked on the Configure page."""
        self.codes = codes
        self.chosen = {key: name_key(value) for key, value in chosen.items() if value}
        self.untaxed_choice = untaxed_choice
        self._by_id = {code.id: code for code in codes}
        self.rates = {rate.id: rate for code in codes for rate in code.rates}

    def by_name(self, name: str) -> CompanyTaxCode | None:
        return next((code for code in self.codes if name_key(code.name) == name_key(name)), None)

    def by_id(self, code_id: str) -> CompanyTaxCode:
        return self._by_id[code_id]

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

    def has_alone(self, group: frozenset[str]) -> bool:
        """Whether a code has exactly these rates (a rounding line on it moves no other rate)."""
        return any(code.rate_ids == group for code in self.codes)

    def carrying(self, group: frozenset[str], used: list[CompanyTaxCode]) -> CompanyTaxCode | None:
        """The code for a rounding line on ``group``: one with exactly its rates (the
        document's own first), else one of the document's codes that has them."""
        alone = [code for code in [*used, *self.codes] if code.rate_ids == group]
        wider = [code for code in used if group <= code.rate_ids]
        return next(iter(alone + wider), None)

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


@dataclass(frozen=True)
class QboTax:
    """How QBO taxes a document's lines, as the sandbox does (sandbox/README.md): each line
    at its code's rates, half-up per line and rate; an inclusive line's tax is its gross
    less the net (gross / (1 + rates), half-up), shared over the code's rates in proportion,
    the last taking the rest. ``per_rate``: the other reading of an exclusive document,
    each rate's tax rounded once on its summed base."""

    codes: TaxCodes
    inclusive: bool
    per_rate: bool = False

    def line_taxes(self, code: CompanyTaxCode, amount: Decimal) -> list[Decimal]:
        """One line's tax, per rate of its code."""
        if not self.inclusive:
            return [_cents(amount * rate.percent / 100) for rate in code.rates]
        tax = amount - _cents(amount * 100 / (100 + code.percent))
        shares = [_cents(tax * rate.percent / code.percent) if code.percent else Decimal(0) for rate in code.rates[:-1]]
        return [*shares, tax - sum(shares, Decimal(0))] if code.rates else []

    def taxes(self, lines: list[dict[str, Any]]) -> dict[str, Decimal]:
        """QBO's tax per TaxRate id."""
        taxes: dict[str, Decimal] = {}
        bases: dict[CompanyRate, Decimal] = {}
        for line in lines:
            code = self.code_of(line)
            amount = money(line["Amount"])
            for rate, tax in zip(code.rates, self.line_taxes(code, amount), strict=True):
                taxes[rate.id] = taxes.get(rate.id, Decimal(0)) + tax
                bases[rate] = bases.get(rate, Decimal(0)) + amount
        if self.per_rate and not self.inclusive:
            return {rate.id: _cents(base * rate.percent / 100) for rate, base in bases.items()}
        return taxes

    def total(self, lines: list[dict[str, Any]]) -> Decimal:
        """Inclusive lines total their gross; exclusive ones add their tax."""
        amounts = sum((money(line["Amount"]) for line in lines), Decimal(0))
        return amounts if self.inclusive else amounts + sum(self.taxes(lines).values(), Decimal(0))

    def code_of(self, line: dict[str, Any]) -> CompanyTaxCode:
        return self.codes.by_id(str(line["SalesItemLineDetail"]["TaxCodeRef"]["value"]))

    def used(self, lines: list[dict[str, Any]]) -> list[CompanyTaxCode]:
        return list({code.id: code for code in map(self.code_of, lines)}.values())


def _on(taxes: dict[str, Decimal], group: frozenset[str]) -> Decimal:
    return sum((amount for rate_id, amount in taxes.items() if rate_id in group), Decimal(0))


@dataclass(frozen=True)
class Target:
    """What QBO must show for a document: Invoiced's total, and Invoiced's tax per group of
    QBO rates (the rates that carry the same Invoiced rates); ``codes``: the code each
    Invoiced rate went on, as (rate id, code name)."""

    total: Decimal
    taxes: dict[frozenset[str], Decimal]
    codes: frozenset[tuple[str, str]] = frozenset()

    @property
    def tax(self) -> Decimal:
        return sum(self.taxes.values(), Decimal(0))

    def off(self, taxes: dict[str, Decimal]) -> list[frozenset[str]]:
        """The groups whose tax (QBO's, per TaxRate id) is not Invoiced's."""
        return [group for group, wanted in self.taxes.items() if _on(taxes, group) != wanted]

    def missed_by(self, written: dict[str, Any]) -> bool:
        """Whether the document QBO wrote totals or taxes otherwise (``TxnTaxDetail.TaxLine``)."""
        taxes: dict[str, Decimal] = {}
        for line in (written.get("TxnTaxDetail") or {}).get("TaxLine") or []:
            rate_id = str(((line.get("TaxLineDetail") or {}).get("TaxRateRef") or {}).get("value"))
            taxes[rate_id] = taxes.get(rate_id, Decimal(0)) + money(line.get("Amount", 0))
        return money(written.get("TotalAmt", 0)) != self.total or bool(self.off(taxes))


def _target(plan: dict[str, Any], coded: list[tuple[list[dict[str, Any]], CompanyTaxCode]]) -> Target:
    """Each Invoiced rate is carried by the QBO rate of its line's code with the same place
    in percent order (all of the code's rates when their numbers differ); overlapping
    groups are joined, so each QBO rate is compared once."""
    carried: dict[str, set[str]] = {}
    for rates, code in coded:
        qbo = sorted(code.rates, key=lambda rate: rate.percent)
        ordered = sorted(rates, key=lambda rate: money(rate["percent"]))
        for place, rate in enumerate(ordered):
            carried.setdefault(str(rate["id"]), set()).update(
                {qbo[place].id} if len(qbo) == len(ordered) else code.rate_ids)
    groups: list[frozenset[str]] = []
    for ids in carried.values():
        touching = [group for group in groups if group & ids]
        groups = [group for group in groups if not group & ids] + [frozenset(ids).union(*touching)]
    invoiced = {key: money(amount) for key, amount in plan["taxes"].items()}
    taxes = {group: sum((invoiced.get(key, Decimal(0)) for key, ids in carried.items() if ids <= group), Decimal(0))
             for group in groups}
    codes = frozenset((str(rate["id"]), code.name) for rates, code in coded for rate in rates)
    return Target(money(plan["total"]), taxes, codes)


def fit_global(payload: dict[str, Any], plan: dict[str, Any], codes: TaxCodes) -> tuple[dict[str, Any], Target]:
    """The document with a company tax code on every line, in the right tax mode, and what
    QBO must show for it. Discounts become negative lines on the discount item at the code
    of the lines they lower (QBO would spread a discount line over every line, untaxed ones
    too); tax rounding lines even out what QBO's per-line rounding would miss."""
    inclusive = is_inclusive(plan)
    if inclusive and any(not rate["inclusive"] for line in plan["lines"] for rate in line["rates"]):
        raise RecordRejected("the invoice mixes tax-inclusive and tax-exclusive rates, which QuickBooks cannot hold "
                             "on one invoice", "Use either inclusive or exclusive rates on the invoice.",
                             "tax_mode_mixed")
    lines: list[dict[str, Any]] = []
    coded: list[tuple[list[dict[str, Any]], CompanyTaxCode]] = []
    document: list[tuple[Decimal, CompanyTaxCode]] = []
    items = (line for line in payload["Line"] if line.get("DetailType") == "SalesItemLineDetail")
    for line, info in zip(items, plan["lines"], strict=True):
        code = codes.for_rates(info["rates"])
        coded.append((info["rates"], code))
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
    target = _target(plan, coded)
    fitted = {key: value for key, value in payload.items() if key not in ("TxnTaxDetail", "Line")}
    return {**fitted, "Line": evened(lines, target, QboTax(codes, inclusive)),
            "GlobalTaxCalculation": "TaxInclusive" if inclusive else "TaxExcluded"}, target


def evened(lines: list[dict[str, Any]], target: Target, model: QboTax) -> list[dict[str, Any]]:
    """``lines`` and the tax rounding lines that make QBO's tax per group, and its total,
    Invoiced's. Groups only a wider code can carry go first, lower rates first: a line that
    moves a rate moves the code's higher rates too, which their own lines then even out (a
    higher rate has amounts that move it alone)."""
    _within_rounding(lines, target, model)
    lines = list(lines)
    used = model.used(lines)
    rates = model.codes.rates
    for group in sorted(target.taxes, key=lambda g: (model.codes.has_alone(g), max(rates[i].percent for i in g))):
        if group in target.off(model.taxes(lines)):
            lines.append(_rounding_for(group, target.taxes[group], lines, used, model))
    left = target.off(model.taxes(lines))
    if left:
        raise _unplaced(left, model.codes)
    rest = target.total - model.total(lines)
    if rest:
        lines.append(on_code(rounding_line(rest), model.codes.untaxed(), model.inclusive))
    return lines


def _within_rounding(lines: list[dict[str, Any]], target: Target, model: QboTax) -> None:
    allowed = ROUNDING_PER_LINE * len(lines)
    taxes = model.taxes(lines)
    gaps = [("total the document", model.total(lines), target.total)] + [
        (f"charge {_names(group, model.codes)} of", _on(taxes, group), wanted) for group, wanted in target.taxes.items()]
    for what, qbo, invoiced in gaps:
        if abs(invoiced - qbo) > allowed:
            raise RecordRejected(
                f"QuickBooks would {what} {qbo}, Invoiced {invoiced}: more than tax rounding",
                "Check that the invoice's tax rates apply the way QuickBooks applies its tax codes (per line).",
                "tax_total_differs")


def _rounding_for(
    group: frozenset[str], wanted: Decimal, lines: list[dict[str, Any]], used: list[CompanyTaxCode], model: QboTax
) -> dict[str, Any]:
    """The smallest rounding line on which QBO's tax brings ``group`` to ``wanted``."""
    code = model.codes.carrying(group, used)
    if code is not None:
        step = CENT if wanted > _on(model.taxes(lines), group) else -CENT
        for count in range(1, SEARCH_CENTS):
            line = on_code(rounding_line(step * count), code, model.inclusive)
            if _on(model.taxes([*lines, line]), group) == wanted:
                return line
    raise _unplaced([group], model.codes)


def _names(group: frozenset[str], codes: TaxCodes) -> str:
    return " + ".join(sorted(codes.rates[rate_id].name for rate_id in group))


def _unplaced(groups: list[frozenset[str]], codes: TaxCodes) -> RecordRejected:
    what = ", ".join(_names(group, codes) for group in groups)
    return RecordRejected(
        f"QuickBooks would round the tax of {what} otherwise than Invoiced, and no tax code of the company "
        "carries that rate alone to even it out",
        f"Add a QuickBooks tax code with only the rate {what}, so the cent of rounding can go on it.",
        "tax_rounding_unplaced")


def refitted(payload: dict[str, Any], target: Target, codes: TaxCodes) -> dict[str, Any]:
    """A written document fitted again for a QBO that rounds each rate once (the other
    reading): its rounding lines are worked out anew (``RecordRejected`` if they cannot be)."""
    inclusive = payload.get("GlobalTaxCalculation") == "TaxInclusive"
    lines = [line for line in payload["Line"]
             if line.get("Description") != ROUNDING_NOTE and line.get("DetailType") == "SalesItemLineDetail"]
    return {**payload, "Line": evened(lines, target, QboTax(codes, inclusive, per_rate=True))}


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


def discount_line(amount: Decimal) -> dict[str, Any]:
    return {"DetailType": "SalesItemLineDetail", "Amount": as_float(amount), "Description": "Discount",
            "SalesItemLineDetail": {"ItemRef": {"$item": DISCOUNT_ITEM}, "Qty": 1, "UnitPrice": as_float(amount)}}


def rounding_line(amount: Decimal) -> dict[str, Any]:
    return {"DetailType": "SalesItemLineDetail", "Amount": as_float(amount), "Description": ROUNDING_NOTE,
            "SalesItemLineDetail": {"ItemRef": {"$item": ROUNDING_ITEM}, "Qty": 1, "UnitPrice": as_float(amount)}}


def untaxed_lines(payload: dict[str, Any], codes: TaxCodes) -> dict[str, Any]:
    """A document without tax (the bad-debt credit memo): every line on the untaxed code."""
    code = codes.untaxed()
    lines = [
        {**line, "SalesItemLineDetail": {**line["SalesItemLineDetail"], "TaxCodeRef": {"value": code.id}}}
        if line.get("DetailType") == "SalesItemLineDetail" else line
        for line in payload["Line"]
    ]
    return {**payload, "Line": lines, "GlobalTaxCalculation": "TaxExcluded"}
