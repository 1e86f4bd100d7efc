"""In-memory account state behind one re-entrant lock.

Tables are dicts in insertion order, which for integer ids is ``id asc``: the service's
default sort comes for free and a page needs no sort at all.

An invoice's status is worked out when it is saved, as the service stores it; the only
status that changes without a save, past due, is set by the service's per-minute job
(MarkInvoicesPastDue), which saves the invoice. `run_jobs` plays that job for every minute
boundary the sandbox clock has passed, from a queue ordered by the boundary after each
invoice's due date, so a request costs nothing for invoices that are not yet due.
"""

from __future__ import annotations

import heapq
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from sandbox.invoiced.calc import invoice_status
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
    Refund,
    TaxRate,
)

NUMBER_PREFIXES = {"customer": "CUST", "invoice": "INV", "credit_note": "CN"}
MINUTE = 60
# The stored statuses MarkInvoicesPastDue selects (with due_date < now).
PAST_DUE_CANDIDATES = frozenset({"not_sent", "sent", "viewed"})


def next_minute(timestamp: int) -> int:
    """The first minute boundary after ``timestamp``: when the job sees ``due_date < now``."""
    return (timestamp // MINUTE + 1) * MINUTE


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
            self.refunds: dict[int, Refund] = {}
            self.mappings: dict[tuple[str, int], Mapping] = {}
            self.invoice_payments: defaultdict[int, set[int]] = defaultdict(set)
            self._numbers: dict[str, dict[str, int]] = {kind: {} for kind in NUMBER_PREFIXES}
            self._number_sequences: dict[str, int] = dict.fromkeys(NUMBER_PREFIXES, 0)
            self._id_sequences: defaultdict[str, int] = defaultdict(lambda: self.settings.id_base)
            self._past_due_queue: list[tuple[int, int]] = []

    def next_id(self, sequence: str) -> int:
        self._id_sequences[sequence] += 1
        return self._id_sequences[sequence]

    def now(self) -> int:
        return self.clock.now()

    @contextmanager
    def session(self) -> Iterator[None]:
        """Hold the lock with the scheduled jobs caught up to the clock: how every request reads."""
        with self.lock:
            self.run_jobs()
            yield

    def touch(self, record: Stamped) -> None:
        """Bump ``updated_at`` strictly, so two changes in one second still sort apart."""
        record.updated_at = max(self.now(), record.updated_at + 1)
        self.saved(record)

    def saved(self, record: object) -> None:
        """A record was saved now: an invoice's status is worked out again at this time."""
        if isinstance(record, Invoice):
            now = self.now()
            record.status_checked_at = now
            if record.due_date is not None and next_minute(record.due_date) > now:
                heapq.heappush(self._past_due_queue, (next_minute(record.due_date), record.id))

    def invoice_status(self, invoice: Invoice) -> str:
        """The stored status (job on), or one worked out at every read (job off)."""
        at = invoice.status_checked_at if self.settings.past_due_job else self.now()
        return invoice_status(invoice, at)

    def run_jobs(self) -> None:
        """MarkInvoicesPastDue for every minute boundary passed: an open invoice whose due date
        has gone by is saved at the first boundary after it (status past_due, updated_at)."""
        if not self.settings.past_due_job:
            return
        boundary = self.now() // MINUTE * MINUTE
        queue = self._past_due_queue
        while queue and queue[0][0] <= boundary:
            at, invoice_id = heapq.heappop(queue)
            invoice = self.invoices.get(invoice_id)
            if invoice is None or invoice.due_date is None or next_minute(invoice.due_date) != at:
                continue  # deleted, or its due date moved (that save queued the new one)
            if at <= invoice.status_checked_at:
                continue  # saved since, which worked the status out already
            if invoice_status(invoice, invoice.status_checked_at) not in PAST_DUE_CANDIDATES:
                continue
            invoice.status_checked_at = at
            invoice.updated_at = max(at, invoice.updated_at + 1)

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
                "refunds": len(self.refunds),
                "accounting_mappings": len(self.mappings),
            }
