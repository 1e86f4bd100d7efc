"""In-memory account state behind one re-entrant lock.

Tables are dicts in insertion order, which for integer ids is ``id asc``: the service's
default sort comes for free and a page needs no sort at all.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any, Protocol

from sandbox.invoiced.clock import SandboxClock
from sandbox.invoiced.config import InvoicedConfig
from sandbox.invoiced.errors import invalid
from sandbox.invoiced.records import (
    Contact,
    Coupon,
    CreditNote,
    Customer,
    Invoice,
    Item,
    Mapping,
    Payment,
    TaxRate,
)

NUMBER_PREFIXES = {"customer": "CUST", "invoice": "INV", "credit_note": "CN"}


class Stamped(Protocol):
    updated_at: int


def normalize_number(number: str) -> str:
    """Numbers are unique case-insensitively and ignoring surrounding blanks."""
    return number.strip().lower()


class Store:
    """The whole sandbox account; every read and write holds ``lock``."""

    def __init__(self, clock: SandboxClock, settings: InvoicedConfig) -> None:
        self.clock = clock
        self.settings = settings
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.customers: dict[int, Customer] = {}
            self.contacts: dict[int, Contact] = {}
            self.items: dict[str, Item] = {}
            self.tax_rates: dict[str, TaxRate] = {}
            self.coupons: dict[str, Coupon] = {}
            self.invoices: dict[int, Invoice] = {}
            self.credit_notes: dict[int, CreditNote] = {}
            self.payments: dict[int, Payment] = {}
            self.mappings: dict[tuple[str, int], Mapping] = {}
            self.invoice_payments: defaultdict[int, set[int]] = defaultdict(set)
            self._numbers: dict[str, dict[str, int]] = {kind: {} for kind in NUMBER_PREFIXES}
            self._number_sequences: dict[str, int] = dict.fromkeys(NUMBER_PREFIXES, 0)
            self._id_sequences: defaultdict[str, int] = defaultdict(lambda: self.settings.id_base)

    def next_id(self, sequence: str) -> int:
        self._id_sequences[sequence] += 1
        return self._id_sequences[sequence]

    def now(self) -> int:
        return self.clock.now()

    def touch(self, record: Stamped) -> None:
        """Bump ``updated_at`` strictly, so two changes in one second still sort apart."""
        record.updated_at = max(self.now(), record.updated_at + 1)

    # Document and customer numbers

    def number_owner(self, kind: str, number: str) -> int | None:
        return self._numbers[kind].get(normalize_number(number))

    def ensure_number_free(self, kind: str, number: str, owner_id: int | None = None) -> None:
        holder = self.number_owner(kind, number)
        if holder is not None and holder != owner_id:
            label = kind.replace("_", " ")
            raise invalid(f"The given {label} number has already been taken: {number}", "number")

    def claim_number(self, kind: str, number: str, owner_id: int) -> None:
        self.ensure_number_free(kind, number, owner_id)
        self._numbers[kind][normalize_number(number)] = owner_id

    def release_number(self, kind: str, number: str) -> None:
        self._numbers[kind].pop(normalize_number(number), None)

    def next_number(self, kind: str) -> str:
        """Next free ``PREFIX-00001`` style number, skipping numbers clients chose."""
        while True:
            self._number_sequences[kind] += 1
            candidate = f"{NUMBER_PREFIXES[kind]}-{self._number_sequences[kind]:05d}"
            if self.number_owner(kind, candidate) is None:
                return candidate

    def counts(self) -> dict[str, Any]:
        with self.lock:
            return {
                "customers": len(self.customers),
                "contacts": len(self.contacts),
                "items": len(self.items),
                "tax_rates": len(self.tax_rates),
                "coupons": len(self.coupons),
                "invoices": len(self.invoices),
                "credit_notes": len(self.credit_notes),
                "payments": len(self.payments),
                "accounting_mappings": len(self.mappings),
            }
