"""Money arithmetic: Decimal inside, JSON numbers outside, half-up rounding to the cent."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")


def money(value: object) -> Decimal:
    """Parse what clients send (numbers or numeric strings, as python-quickbooks' Decimal encoder does)."""
    if isinstance(value, bool) or value is None or value == "":
        raise ValueError(f"not a number: {value!r}")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def number(value: Decimal) -> float | int:
    """QBO prints amounts as JSON numbers (150.0); keep integers for quantities."""
    return int(value) if value == value.to_integral_value() else float(value)


def amount(value: Decimal) -> float:
    """Amounts always print as floats rounded to the cent, like QBO's `100.0`."""
    return float(cents(value))
