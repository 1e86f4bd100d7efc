"""In-memory company data: one `Realm` per company, indexed so 100k invoices stay fast.

Stored objects are never mutated in place: every write puts a new dict. Readers can
therefore hand stored dicts straight to the JSON encoder without copying them.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sandbox.quickbooks.config import CompanyProfile
from sandbox.quickbooks.money import amount, money
from sandbox.quickbooks.schema import ENTITIES, LISTS, PEOPLE

Obj = dict[str, Any]

RECEIVABLE_FIELDS = {"Invoice": ("Balance", 1), "CreditMemo": ("RemainingCredit", -1), "Payment": ("UnappliedAmt", -1)}
"""How each transaction moves its customer's open balance (QBO's Customer.Balance)."""


@dataclass
class StoredResponse:
    """A response kept for `requestid` replay."""

    status: int
    body: bytes
    media_type: str
    stored_at: float


@dataclass
class Realm:
    """One QBO company."""

    realm_id: str
    company_name: str
    tables: dict[str, dict[str, Obj]] = field(default_factory=lambda: {name: {} for name in ENTITIES})
    sequences: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    deleted: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    """Deleted ids per entity with the time of their deletion: CDC answers them as tombstones."""
    unique: dict[str, dict[str, set[tuple[str, str]]]] = field(default_factory=lambda: defaultdict(dict))
    preferences: Obj = field(default_factory=dict)
    company_info: Obj = field(default_factory=dict)
    replays: dict[str, StoredResponse] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    name_lock: threading.Lock = field(default_factory=threading.Lock)
    case_insensitive_names: bool = True
    profile: CompanyProfile = field(default_factory=CompanyProfile)
    on_change: Callable[[Realm, str, str, str, Obj | None], None] | None = None
    """(realm, entity, id, Create|Update|Delete, the stored object): webhooks listen here."""

    def next_id(self, entity: str) -> str:
        self.sequences[entity] += 1
        return str(self.sequences[entity])

    def get(self, entity: str, obj_id: str) -> Obj | None:
        return self.tables[entity].get(str(obj_id))

    def rows(self, entity: str) -> Iterator[Obj]:
        return iter(self.tables[entity].values())

    def put(self, entity: str, obj: Obj) -> None:
        """Insert or replace; keeps unique-name indexes and customer balances in step."""
        with self.lock:
            table = self.tables[entity]
            old = table.get(obj["Id"])
            self._reindex(entity, old, obj)
            table[obj["Id"]] = obj
            self._shift_receivable(entity, old, obj)
            if self.on_change is not None:
                self.on_change(self, entity, obj["Id"], "Create" if old is None else "Update", obj)

    def remove(self, entity: str, obj_id: str, stamp: str) -> None:
        """Delete an object, remembering when (``stamp``, as MetaData times are spelt)."""
        with self.lock:
            old = self.tables[entity].pop(obj_id)
            self._reindex(entity, old, None)
            self._shift_receivable(entity, old, None)
            self.deleted[entity][obj_id] = stamp
            if self.on_change is not None:
                self.on_change(self, entity, obj_id, "Delete", old)

    def holders(self, group: str, key: str) -> set[tuple[str, str]]:
        """Which (entity, id) pairs use `key` in a uniqueness group (names, doc numbers)."""
        return self.unique[group].get(self.normalize(key), set())

    def normalize(self, key: str) -> str:
        key = key.strip()
        return key.casefold() if self.case_insensitive_names else key

    def _reindex(self, entity: str, old: Obj | None, new: Obj | None) -> None:
        for group, key in unique_keys(entity, old):
            self.unique[group].get(self.normalize(key), set()).discard((entity, old["Id"]))  # type: ignore[index]
        for group, key in unique_keys(entity, new):
            self.unique[group].setdefault(self.normalize(key), set()).add((entity, new["Id"]))  # type: ignore[index]

    def _shift_receivable(self, entity: str, old: Obj | None, new: Obj | None) -> None:
        if entity not in RECEIVABLE_FIELDS:
            return
        for obj, sign in ((old, -1), (new, 1)):
            delta = receivable(entity, obj) * sign
            if obj is not None and delta:
                self._adjust_customer_balance(obj["CustomerRef"]["value"], delta)

    def _adjust_customer_balance(self, customer_id: str, delta: Decimal) -> None:
        customer = self.tables["Customer"].get(customer_id)
        if customer is None:
            return
        balance = amount(money(customer.get("Balance", 0)) + delta)
        self.tables["Customer"][customer_id] = {**customer, "Balance": balance, "BalanceWithJobs": balance}


def unique_keys(entity: str, obj: Obj | None) -> list[tuple[str, str]]:
    """Uniqueness groups: people share one DisplayName space; items/accounts/tax names their own."""
    if obj is None:
        return []
    if entity in PEOPLE and obj.get("DisplayName"):
        return [("people", obj["DisplayName"])]
    if entity in ("Item", "Account", "TaxCode", "TaxRate", *LISTS) and obj.get("Name"):
        return [(entity, obj["Name"])]
    if entity in ("Invoice", "CreditMemo") and obj.get("DocNumber"):
        return [(f"doc:{entity}", obj["DocNumber"])]
    return []


def receivable(entity: str, obj: Obj | None) -> Decimal:
    if obj is None:
        return Decimal(0)
    field_name, sign = RECEIVABLE_FIELDS[entity]
    return money(obj.get(field_name, 0)) * sign


class ReplayCache:
    """`requestid` -> first response, per realm, kept `ttl_seconds` on the sandbox clock
    (None: until reset). Intuit does not say how long; clients must not rely on it."""

    def __init__(self, ttl_seconds: float | None, now: Callable[[], float]) -> None:
        self.ttl_seconds = ttl_seconds
        self.now = now

    def lookup(self, realm: Realm, request_id: str) -> StoredResponse | None:
        stored = realm.replays.get(request_id)
        if stored is None:
            return None
        if self.ttl_seconds is not None and self.now() - stored.stored_at > self.ttl_seconds:
            del realm.replays[request_id]
            return None
        return stored

    def remember(self, realm: Realm, request_id: str, status: int, body: bytes, media_type: str) -> None:
        realm.replays.setdefault(request_id, StoredResponse(status, body, media_type, self.now()))
