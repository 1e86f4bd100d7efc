"""Money arithmetic in Decimal, rounded to cents like Invoiced's zero-decimal amounts.

Floats would make balances drift by fractions of a cent, which a reconciliation test
would then report as a mismatch that the real service never produces.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal("0")
CENT = Decimal("0.01")


def to_decimal(value: object) -> Decimal:
    """Parse a JSON number or numeric string; raises ValueError for anything else."""
    if isinstance(value, bool):
        raise ValueError("booleans are not amounts")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, float, str)):
        try:
            parsed = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {value!r}") from exc
        if parsed.is_finite():
            return parsed
    raise ValueError(f"not a number: {value!r}")


def cents(value: Decimal) -> Decimal:
    """Round half away from zero, as PHP's round() does on the real service."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def cents_up(value: Decimal) -> Decimal:
    """Round up to the cent (inclusive taxes are rounded in favour of the tax agency)."""
    return value.quantize(CENT, rounding=ROUND_CEILING)


def money_json(value: Decimal) -> int | float:
    """Render an amount as a JSON number: integral amounts without a fraction, like PHP."""
    rounded = cents(value)
    if rounded == rounded.to_integral_value():
        return int(rounded)
    return float(rounded)


def quantity_json(value: Decimal) -> int | float:
    """Render a quantity or rate value without inventing cents it does not have."""
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def php_amount(value: Decimal, currency: str) -> str:
    """Format like the service's Money::__toString(), e.g. ``150 USD`` or ``12.5 USD``."""
    text = format(cents(value).normalize(), "f")
    return f"{text} {currency.upper()}"
