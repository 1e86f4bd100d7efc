"""Items, tax rates and coupons: string-id "pricing objects".

Ids are chosen by the client or generated; most properties are create-only and edits of
them are ignored, and delete archives the object (its id may then be reused).
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from typing import Any

from sandbox.invoiced.errors import invalid, not_found
from sandbox.invoiced.models import (
    CouponInput,
    InputModel,
    ItemInput,
    TaxRateInput,
    copy_sent_fields,
    parse_input,
    require,
)
from sandbox.invoiced.records import Coupon, Item, TaxRate
from sandbox.invoiced.store import Store

GENERATED_ID_LENGTH = 6
_ID_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class PricingKind:
    """How one pricing-object endpoint differs from the others."""

    table: str
    title: str
    input_model: type[InputModel]
    record: type[Any]
    required: tuple[str, ...]
    mutable: frozenset[str]
    inherits_company_currency: bool = False


ITEMS = PricingKind(
    table="items",
    title="Item",
    input_model=ItemInput,
    record=Item,
    required=("name",),
    mutable=frozenset(
        {"name", "description", "type", "gl_account", "avalara_tax_code", "avalara_location_code", "metadata"}
    ),
    inherits_company_currency=True,
)
TAX_RATES = PricingKind(
    table="tax_rates",
    title="Tax Rate",
    input_model=TaxRateInput,
    record=TaxRate,
    required=("name", "value"),
    mutable=frozenset({"name", "metadata"}),
)
COUPONS = PricingKind(
    table="coupons",
    title="Coupon",
    input_model=CouponInput,
    record=Coupon,
    required=("name", "value"),
    mutable=frozenset({"name", "metadata"}),
)


def _table(store: Store, kind: PricingKind) -> dict[str, Any]:
    table: dict[str, Any] = getattr(store, kind.table)
    return table


def get_pricing(store: Store, kind: PricingKind, ident: str) -> Any:
    record = _table(store, kind).get(ident)
    if record is None:
        raise not_found(kind.title, ident)
    return record


def _new_id(table: dict[str, Any]) -> str:
    while True:
        candidate = "".join(random.choices(_ID_ALPHABET, k=GENERATED_ID_LENGTH))
        if candidate not in table:
            return candidate


def create_pricing(store: Store, kind: PricingKind, payload: dict[str, Any]) -> Any:
    data = parse_input(kind.input_model, payload)
    require(data, *kind.required)
    table = _table(store, kind)
    ident = getattr(data, "id", None) or _new_id(table)
    if ident in table:
        raise invalid(f"An item already exists with ID: {ident}", "id")
    now = store.now()
    fields = {name: getattr(data, name) for name in kind.required}
    record = kind.record(id=ident, created_at=now, updated_at=now, **fields)
    copy_sent_fields(data, record, frozenset(kind.input_model.model_fields) - {"id"})
    if kind.inherits_company_currency and record.currency is None:
        record.currency = store.settings.company_currency
    table[ident] = record
    return record


def update_pricing(store: Store, kind: PricingKind, ident: str, payload: dict[str, Any]) -> Any:
    record = get_pricing(store, kind, ident)
    data = parse_input(kind.input_model, payload)
    copy_sent_fields(data, record, kind.mutable)
    store.touch(record)
    return record


def delete_pricing(store: Store, kind: PricingKind, ident: str) -> None:
    get_pricing(store, kind, ident)
    del _table(store, kind)[ident]
