"""What every entity's validation shares: the write context, references, lengths, dates.

Entity-specific rules (names.py, transactions.py) subclass `EntityRules`; the generic
create/update/delete/void flow lives in entities.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sandbox.quickbooks import clock, errors
from sandbox.quickbooks.config import SandboxConfig
from sandbox.quickbooks.money import money
from sandbox.quickbooks.store import Obj, Realm

NAME_FIELD = {"Customer": "DisplayName", "Vendor": "DisplayName", "Employee": "DisplayName", "TaxAgency": "DisplayName"}


@dataclass
class WriteContext:
    """One write: the company, the clock, `include=` options and batch visibility."""

    realm: Realm
    config: SandboxConfig
    now: datetime
    include: frozenset[str] = frozenset()
    hidden: set[tuple[str, str]] = field(default_factory=set)

    @property
    def today(self) -> date:
        return self.now.date()

    def stamp(self) -> str:
        return clock.stamp(self.now)

    def find(self, entity: str, obj_id: object) -> Obj | None:
        """Objects created earlier in the same batch are invisible, as in QBO."""
        if (entity, str(obj_id)) in self.hidden:
            return None
        return self.realm.get(entity, str(obj_id))

    def reference(self, entity: str, ref: object, element: str) -> Obj:
        """Resolve a `{"value": id}` reference to an active object, else fault 2500."""
        ref_id = ref_value(ref, element)
        target = self.find(entity, ref_id)
        if target is None:
            raise errors.invalid_reference(entity, ref_id)
        if target.get("Active") is False:
            raise errors.invalid_reference(entity, ref_id, inactive=True)
        return target

    def named_ref(self, entity: str, ref: object, element: str) -> dict[str, str]:
        """QBO echoes references with the target's current display name filled in."""
        target = self.reference(entity, ref, element)
        return {"value": target["Id"], "name": target.get(NAME_FIELD.get(entity, "Name"), "")}

    def account_with_subtype(self, subtype: str) -> Obj | None:
        return next(
            (a for a in self.realm.rows("Account") if a.get("AccountSubType") == subtype and a.get("Active", True)),
            None,
        )

    def book_close_date(self) -> date | None:
        closed = self.realm.preferences.get("AccountingInfoPrefs", {}).get("BookCloseDate")
        return clock.parse_date(closed) if closed else None


class EntityRules:
    """Default behaviour: the entity cannot be written through the API."""

    entity: str = ""

    def build(self, ctx: WriteContext, data: Obj, existing: Obj | None) -> Obj:
        raise errors.unsupported_operation("Create" if existing is None else "Update")

    def on_saved(self, ctx: WriteContext, old: Obj | None, new: Obj | None) -> None:
        """Side effects after the object was stored (new=None after a delete)."""

    def before_delete(self, ctx: WriteContext, obj: Obj) -> None:
        raise errors.unsupported_operation("Delete")

    def void(self, ctx: WriteContext, obj: Obj) -> Obj:
        raise errors.unsupported_operation("Void")


def ref_value(ref: object, element: str) -> str:
    if isinstance(ref, dict) and ref.get("value") not in (None, ""):
        return str(ref["value"])
    raise errors.required_missing(f"{element}.value" if isinstance(ref, dict) else element)


def require(data: Obj, name: str, element: str | None = None) -> Any:
    value = data.get(name)
    if value is None or value == "" or value == []:
        raise errors.required_missing(element or name)
    return value


def check_lengths(data: Obj, limits: dict[str, int], prefix: str = "") -> None:
    for name, limit in limits.items():
        value = data.get(name)
        if isinstance(value, str) and len(value) > limit:
            raise errors.string_too_long(prefix + name, limit, len(value))


def check_characters(data: Obj, names: tuple[str, ...], forbidden: str) -> None:
    for name in names:
        value = data.get(name)
        if isinstance(value, str) and any(char in value for char in forbidden):
            raise errors.invalid_characters(name, value)


def parse_amount(value: object, element: str) -> Decimal:
    try:
        return money(value)
    except ValueError:
        raise errors.invalid_value(element, value) from None


def parse_day(value: object, element: str) -> date:
    parsed = clock.parse_date(str(value)[:10]) if isinstance(value, str) else None
    if parsed is None:
        raise errors.invalid_value(element, value)
    return parsed


def ensure_unique_name(ctx: WriteContext, group: str, entity: str, name: str, existing: Obj | None) -> None:
    """Fault 6240 when another object of the group (incl. inactive, by default) uses the name."""
    for holder_entity, holder_id in ctx.realm.holders(group, name):
        if existing is not None and (holder_entity, holder_id) == (entity, existing["Id"]):
            continue
        holder = ctx.realm.get(holder_entity, holder_id)
        if holder is not None and (ctx.config.duplicate_name_includes_inactive or holder.get("Active", True)):
            raise errors.duplicate_name(entity)


def revise(ctx: WriteContext, obj: Obj, changes: Obj) -> Obj:
    """A system-side change (e.g. a payment lowering a balance) is a new version of the object."""
    meta = {**obj["MetaData"], "LastUpdatedTime": ctx.stamp()}
    return {**obj, **changes, "SyncToken": str(int(obj["SyncToken"]) + 1), "MetaData": meta}


def stamp_new(ctx: WriteContext, entity: str, obj: Obj, obj_id: str | None = None) -> Obj:
    now = ctx.stamp()
    return {
        **obj,
        "Id": obj_id or ctx.realm.next_id(entity),
        "SyncToken": "0",
        "MetaData": {"CreateTime": now, "LastUpdatedTime": now},
        "domain": "QBO",
        "sparse": False,
    }
