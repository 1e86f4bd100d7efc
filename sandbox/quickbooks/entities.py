"""Generic create / full or sparse update / delete / void, shared by every entity.

The flow is the same for all entities (unknown-field check, SyncToken check, stamping,
storing); what differs per entity is delegated to its `EntityRules`.
"""

from __future__ import annotations

from typing import Any

from sandbox.quickbooks import errors
from sandbox.quickbooks.names import AccountRules, ItemRules, ListRules, PersonRules
from sandbox.quickbooks.rules import EntityRules, WriteContext, revise, stamp_new
from sandbox.quickbooks.schema import SYSTEM_FIELDS, EntitySpec
from sandbox.quickbooks.store import Obj
from sandbox.quickbooks.transactions import PaymentRules, RefundReceiptRules, SalesFormRules

RULES: dict[str, EntityRules] = {
    "Customer": PersonRules("Customer"),
    "Vendor": PersonRules("Vendor"),
    "Employee": PersonRules("Employee"),
    "Item": ItemRules(),
    "Account": AccountRules(),
    "Class": ListRules("Class"),
    "Department": ListRules("Department"),
    "Term": ListRules("Term"),
    "Invoice": SalesFormRules("Invoice"),
    "CreditMemo": SalesFormRules("CreditMemo"),
    "Payment": PaymentRules(),
    "RefundReceipt": RefundReceiptRules(),
}
READ_ONLY_RULES = EntityRules()
SALES_FORMS = frozenset({"Invoice", "CreditMemo"})
VOID_BY_OPERATION = SALES_FORMS | {"Payment"}
"""`operation=void` voids invoices and (as Intuit's Payment reference documents) payments;
the older `operation=update&include=void` is accepted for payments too."""


def _rules(spec: EntitySpec) -> EntityRules:
    return RULES.get(spec.name, READ_ONLY_RULES)


def resolve_operation(spec: EntitySpec, operation: str | None, include: frozenset[str], body: Obj) -> str:
    """Map QBO's URL conventions to one of create / update / delete / void."""
    if operation == "delete":
        return "delete"
    if operation == "void" and spec.name in VOID_BY_OPERATION:
        return "void"
    if operation == "update" and "void" in include and spec.name not in SALES_FORMS:
        return "void"
    if operation not in (None, "create", "update"):
        raise errors.unsupported_operation(str(operation))
    if operation == "update" or body.get("Id") not in (None, ""):
        return "update"
    return "create"


def resolve_batch_operation(operation: object, include: frozenset[str]) -> str:
    """Batch items name their operation explicitly; `optionsData` may ask for a void."""
    if operation == "create":
        return "create"
    if operation == "void" or (operation == "update" and "void" in include):
        return "void"
    if operation in ("update", "delete"):
        return str(operation)
    raise errors.unsupported_operation(str(operation))


def apply(ctx: WriteContext, spec: EntitySpec, operation: str, body: Obj) -> Obj:
    with ctx.realm.lock:
        return _OPERATIONS[operation](ctx, spec, body)


def clean_input(spec: EntitySpec, body: Obj) -> Obj:
    """Reject unknown fields (2010); drop system/read-only ones and empty values, as QBO ignores them."""
    for key in body:
        if key not in spec.known:
            raise errors.unrecognized_field(key, spec.name)
    return {
        key: _without_empty(value)
        for key, value in body.items()
        if key not in SYSTEM_FIELDS and key not in spec.readonly and value is not None and value != ""
    }


def _without_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_empty(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list):
        return [_without_empty(v) for v in value]
    return value


def _writable(spec: EntitySpec, obj: Obj) -> Obj:
    return {key: value for key, value in obj.items() if key in spec.writable}


def _current(ctx: WriteContext, spec: EntitySpec, body: Obj) -> Obj:
    """The stored object an update/delete/void addresses, with QBO's optimistic locking (5010)."""
    obj_id = body.get("Id")
    if obj_id in (None, ""):
        raise errors.required_missing("Id")
    sync_token = body.get("SyncToken")
    if sync_token in (None, ""):
        raise errors.required_missing("SyncToken")
    existing = ctx.find(spec.name, obj_id)
    if existing is None:
        raise errors.object_not_found(deleted=str(obj_id) in ctx.realm.deleted[spec.name])
    if str(sync_token) != existing["SyncToken"]:
        raise errors.stale_object()
    return existing


def create(ctx: WriteContext, spec: EntitySpec, body: Obj) -> Obj:
    rules = _rules(spec)
    obj = stamp_new(ctx, spec.name, rules.build(ctx, clean_input(spec, body), None))
    ctx.realm.put(spec.name, obj)
    rules.on_saved(ctx, None, obj)
    return obj


def update(ctx: WriteContext, spec: EntitySpec, body: Obj) -> Obj:
    """Full update replaces every writable field; `"sparse": true` changes only those sent."""
    rules = _rules(spec)
    existing = _current(ctx, spec, body)
    data = clean_input(spec, body)
    if body.get("sparse") in (True, "true"):
        data = {**_writable(spec, existing), **data}
    obj = revise(ctx, existing, {})
    obj = {**rules.build(ctx, data, existing), **{key: obj[key] for key in SYSTEM_FIELDS if key in obj}}
    ctx.realm.put(spec.name, obj)
    rules.on_saved(ctx, existing, obj)
    return obj


def delete(ctx: WriteContext, spec: EntitySpec, body: Obj) -> Obj:
    rules = _rules(spec)
    existing = _current(ctx, spec, body)
    rules.before_delete(ctx, existing)
    ctx.realm.remove(spec.name, existing["Id"], ctx.stamp())
    rules.on_saved(ctx, existing, None)
    return {"status": "Deleted", "domain": "QBO", "Id": existing["Id"]}


def void(ctx: WriteContext, spec: EntitySpec, body: Obj) -> Obj:
    rules = _rules(spec)
    existing = _current(ctx, spec, body)
    obj = revise(ctx, rules.void(ctx, existing), {})
    ctx.realm.put(spec.name, obj)
    rules.on_saved(ctx, existing, obj)
    return obj


_OPERATIONS = {"create": create, "update": update, "delete": delete, "void": void}
