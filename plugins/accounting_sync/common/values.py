"""Values both pipelines share, each parsed or made in one place: numbers and money to
the cent, times in UTC, names compared as QuickBooks compares them, content hashes, and
chunks of a long list.

Kept free of I/O and of heavy imports.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from itertools import islice
from typing import Any, TypeVar, overload

CENT = Decimal("0.01")
HALF_CENT = Decimal("0.005")

T = TypeVar("T")


class RecordRejected(ValueError):
    """A record that cannot be written as it is; the message says why and how to fix it."""

    def __init__(self, message: str, hint: str | None = None, code: str = "invalid_record") -> None:
        super().__init__(message)
        self.hint, self.code = hint, code


# -- numbers --------------------------------------------------------------------------------


def number(value: Any, what: str, missing: str | None = None) -> Decimal:
    """``value`` as a finite ``Decimal``; refuses what is not one instead of guessing.
    ``what`` names the value in the message; ``missing`` replaces it for an absent value."""
    if value is None or isinstance(value, bool):
        raise RecordRejected(missing or f"{what} {value!r} is not a number")
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        raise RecordRejected(f"{what} {value!r} is not a number") from None
    if not parsed.is_finite():
        raise RecordRejected(f"{what} {value!r} is not a number")
    return parsed


def money(value: Any) -> Decimal:
    """An amount, rounded half-up to the cent."""
    return number(value, "amount").quantize(CENT, rounding=ROUND_HALF_UP)


def as_float(amount: Decimal) -> float:
    return float(amount)


# -- times ----------------------------------------------------------------------------------


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: None) -> None: ...
def aware(value: datetime | None) -> datetime | None:
    """A stored time as UTC: SQLite hands back naive datetimes for what was written aware."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


# -- names, hashes, chunks ------------------------------------------------------------------


def name_key(name: str) -> str:
    """Names as QuickBooks compares them (case-insensitive)."""
    return name.casefold()


def content_hash(payload: Any) -> str:
    """Stable hash of a JSON-able payload, to tell whether a record changed."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of ``size`` items (the last one shorter), without reading ahead further."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
