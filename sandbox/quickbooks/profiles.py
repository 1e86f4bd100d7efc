"""The kinds of QBO company a realm can be: per-country tax tables, the automated-sales-tax
rate table, exchange rates and named presets. Data only; the behaviour is in salestax.py
and currency.py, and sandbox/README.md gives the source of every table."""

from __future__ import annotations

from decimal import Decimal

from sandbox.quickbooks.config import CompanyProfile

PRESETS: dict[str, dict[str, object]] = {
    "us": {},
    "us-ast": {"automated_sales_tax": True},
    "us-multicurrency": {"multicurrency": True},
    "ca": {"country": "CA"},
    "gb": {"country": "GB"},
    "au": {"country": "AU"},
}
"""Names accepted by `--company-profile` besides a JSON object."""

# Global tax model: (code name, description, [(rate name, percent)]). The first code of each
# country is its standard rate; every country has zero-rated and exempt codes.
GLOBAL_TAX_CODES: dict[str, tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]] = {
    "GB": (
        ("20.0% S", "Standard", (("20.0% S", "20"),)),
        ("5.0% R", "Reduced", (("5.0% R", "5"),)),
        ("0.0% Z", "Zero-rated", (("0.0% Z", "0"),)),
        ("Exempt", "Exempt", (("Exempt", "0"),)),
        ("No VAT", "No VAT", (("No VAT", "0"),)),
    ),
    "CA": (
        ("GST", "GST (AB, MB, NT, NU, SK, YT)", (("GST", "5"),)),
        ("HST ON", "HST Ontario", (("HST ON", "13"),)),
        ("HST NS", "HST Nova Scotia", (("HST NS", "14"),)),
        ("GST/PST BC", "GST and PST British Columbia", (("GST", "5"), ("PST BC", "7"))),
        ("GST/QST QC", "GST and QST Quebec", (("GST", "5"), ("QST", "9.975"))),
        ("Zero-rated", "Zero-rated", (("Zero-rated", "0"),)),
        ("Exempt", "Exempt", (("Exempt", "0"),)),
    ),
    "AU": (
        ("GST", "GST", (("GST (sales)", "10"),)),
        ("GST free", "GST free", (("GST free (sales)", "0"),)),
        ("Out of Scope", "Out of Scope", (("Out of Scope (sales)", "0"),)),
    ),
}
TAX_AGENCIES = {
    "US": "California Department of Tax and Fee Administration",
    "CA": "Canada Revenue Agency",
    "GB": "HM Revenue & Customs",
    "AU": "Australian Taxation Office",
}
MISSING_TAX_CODE = {
    "GB": "Make sure all your transactions have a VAT rate before you save.",
    "CA": "Make sure all your transactions have a GST/HST rate before you save.",
    "AU": "Make sure all your transactions have a GST rate before you save.",
}

# Automated sales tax: a state's rate, overridden by the first matching ZIP prefix. Our own
# deterministic table (close to 2025 combined rates, not a real rate service).
AST_STATE_RATES: dict[str, str] = {
    "CA": "7.25", "AZ": "5.6", "NY": "4", "TX": "6.25", "WA": "6.5", "FL": "6", "IL": "6.25",
    "OR": "0", "DE": "0", "MT": "0", "NH": "0",
}
AST_ZIP_RATES: dict[str, tuple[str, str]] = {
    "941": ("San Francisco CA", "8.625"), "940": ("Santa Clara County CA", "9.125"),
    "943": ("San Mateo County CA", "9.375"), "857": ("Tucson AZ", "8.7"), "100": ("New York City NY", "8.875"),
}

# Units of home currency per unit of foreign currency, for documents sent without
# ExchangeRate. Our own fixed table, so tests can compute HomeTotalAmt.
USD_PER_UNIT: dict[str, str] = {"USD": "1", "EUR": "1.08", "CAD": "0.73", "GBP": "1.27", "AUD": "0.66"}
UNTAXED_JURISDICTION = "Out of state"
CURRENCY_NAMES = {
    "USD": "United States Dollar", "EUR": "Euro", "CAD": "Canadian Dollar", "GBP": "British Pound Sterling",
    "AUD": "Australian Dollar",
}


def preset(name_or_json: str) -> CompanyProfile:
    """`--company-profile gb` or `--company-profile '{"country": "GB"}'`."""
    text = name_or_json.strip()
    if text.startswith("{"):
        return CompanyProfile.model_validate_json(text)
    if text.lower() not in PRESETS:
        raise ValueError(f"unknown company profile {text!r}; one of {', '.join(PRESETS)} or a JSON object")
    return CompanyProfile.model_validate(PRESETS[text.lower()])


def exchange_rate(currency: str, home: str) -> Decimal:
    """Home units per foreign unit from the table, cross-rated through USD."""
    return (Decimal(USD_PER_UNIT[currency]) / Decimal(USD_PER_UNIT[home])).quantize(Decimal("0.000001"))


def ast_rate(address: dict[str, object] | None) -> tuple[str, Decimal]:
    """(jurisdiction, percent) for a US address; unknown states are not taxed (0 %)."""
    address = address or {}
    state = str(address.get("CountrySubDivisionCode") or "").upper()
    postal = str(address.get("PostalCode") or "")
    for prefix, (jurisdiction, percent) in AST_ZIP_RATES.items():
        if postal.startswith(prefix):
            return jurisdiction, Decimal(percent)
    if state not in AST_STATE_RATES:
        return UNTAXED_JURISDICTION, Decimal(0)
    return state, Decimal(AST_STATE_RATES[state])


def ast_jurisdictions() -> dict[str, str]:
    """Every jurisdiction the AST table knows, with its percent: one tax code each."""
    return {**AST_STATE_RATES, **dict(AST_ZIP_RATES.values()), UNTAXED_JURISDICTION: "0"}
