"""The REST resources: for each, its table, list fields and write operations.

The filterable properties follow the service's ``config/objectFields/*.yaml``; a
relation is filterable by name and by its ``<name>_id`` column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sandbox.invoiced.calc import credit_note_status
from sandbox.invoiced.catalog import (
    COUPONS,
    ITEMS,
    TAX_RATES,
    create_pricing,
    delete_pricing,
    get_pricing,
    update_pricing,
)
from sandbox.invoiced.credits import create_credit_note
from sandbox.invoiced.customers import create_customer, delete_customer, get_customer, update_customer
from sandbox.invoiced.documents import (
    CREDIT_NOTES,
    INVOICES,
    create_document,
    delete_document,
    get_document,
    update_document,
)
from sandbox.invoiced.listing import FieldSpec, Getter, Listing, attr
from sandbox.invoiced.options import (
    CUSTOMER_LIST_QUERY,
    NO_QUERY,
    PAYMENT_EDIT_QUERY,
    PAYMENT_LIST_QUERY,
    WRITE_QUERY,
    Options,
)
from sandbox.invoiced.payments import create_payment, get_payment, update_payment, void_payment
from sandbox.invoiced.records import Invoice
from sandbox.invoiced.refunds import create_transaction, delete_transaction, get_refund, update_transaction
from sandbox.invoiced.store import Store


def field_specs(
    strings: Iterable[str] = (),
    booleans: Iterable[str] = (),
    integers: Iterable[str] = (),
    money: Iterable[str] = (),
    timestamps: Iterable[str] = (),
    computed: dict[str, tuple[str, Getter]] | None = None,
) -> dict[str, FieldSpec]:
    specs: dict[str, FieldSpec] = {}
    for kind, names in (
        ("string", strings),
        ("boolean", booleans),
        ("integer", integers),
        ("money", money),
        ("timestamp", timestamps),
    ):
        specs.update({name: FieldSpec(kind, attr(name)) for name in names})
    for name, (kind, getter) in (computed or {}).items():
        specs[name] = FieldSpec(kind, getter)
    return specs


def _customer_relation() -> dict[str, tuple[str, Getter]]:
    return {"customer": ("integer", attr("customer_id")), "customer_id": ("integer", attr("customer_id"))}


STAMPS = ("created_at", "updated_at")
CUSTOMER_FIELDS = field_specs(
    strings=(
        "address1",
        "address2",
        "attention_to",
        "avalara_entity_use_code",
        "avalara_exemption_number",
        "city",
        "country",
        "currency",
        "email",
        "language",
        "name",
        "number",
        "payment_terms",
        "phone",
        "postal_code",
        "state",
        "tax_id",
        "type",
    ),
    booleans=("active", "autopay", "chase", "credit_hold", "taxable"),
    integers=("id", "parent_customer"),
    money=("credit_balance", "credit_limit"),
    timestamps=STAMPS,
    computed={"parent_customer_id": ("integer", attr("parent_customer"))},
)
CONTACT_FIELDS = field_specs(
    strings=(
        "address1",
        "address2",
        "city",
        "country",
        "department",
        "email",
        "name",
        "phone",
        "postal_code",
        "state",
        "title",
    ),
    booleans=("primary", "sms_enabled"),
    integers=("id",),
    timestamps=STAMPS,
    computed={"customer": ("integer", attr("customer_id")), "customer_id": ("integer", attr("customer_id"))},
)
ITEM_FIELDS = field_specs(
    strings=(
        "avalara_location_code",
        "avalara_tax_code",
        "currency",
        "description",
        "gl_account",
        "id",
        "name",
        "type",
    ),
    booleans=("discountable", "taxable"),
    money=("unit_cost",),
    timestamps=STAMPS,
)
TAX_RATE_FIELDS = field_specs(
    strings=("currency", "id", "name"),
    booleans=("inclusive", "is_percent"),
    money=("value",),
    timestamps=STAMPS,
)
COUPON_FIELDS = field_specs(
    strings=("currency", "id", "name"),
    booleans=("exclusive", "is_percent"),
    integers=("max_redemptions",),
    money=("value",),
    timestamps=(*STAMPS, "expiration_date"),
)
DOCUMENT_STRINGS = ("currency", "name", "number", "purchase_order")
DOCUMENT_BOOLEANS = ("closed", "draft", "paid", "sent", "viewed", "voided")
DOCUMENT_MONEY = ("amount_credited", "balance", "subtotal", "total")
DOCUMENT_TIMESTAMPS = (*STAMPS, "date", "date_voided")
PAYMENT_FIELDS = field_specs(
    strings=("currency", "method", "reference", "source"),
    booleans=("voided",),
    integers=("id",),
    money=("amount", "balance"),
    timestamps=(*STAMPS, "date", "date_voided"),
    computed={**_customer_relation(), "applied": ("boolean", lambda payment: payment.balance == 0)},
)

TRANSACTION_FIELDS = field_specs(
    strings=("currency", "method"),
    integers=("id", "parent_transaction"),
    money=("amount",),
    timestamps=(*STAMPS, "date"),
    computed={
        **_customer_relation(),
        "type": ("string", lambda refund: "refund"),
        "status": ("string", lambda refund: "succeeded"),
        "invoice": ("integer", attr("invoice_id")),
        "credit_note": ("integer", attr("credit_note_id")),
        "payment": ("integer", attr("payment_id")),
    },
)


def invoice_fields(status: Callable[[Invoice], str]) -> dict[str, FieldSpec]:
    return field_specs(
        strings=(*DOCUMENT_STRINGS, "payment_terms"),
        booleans=(*DOCUMENT_BOOLEANS, "autopay"),
        integers=("id",),
        money=(*DOCUMENT_MONEY, "amount_paid", "amount_written_off"),
        timestamps=(*DOCUMENT_TIMESTAMPS, "due_date", "date_paid", "date_bad_debt"),
        computed={
            **_customer_relation(),
            "status": ("string", status),
            "attempt_count": ("integer", lambda invoice: 0),
        },
    )


CREDIT_NOTE_FIELDS = field_specs(
    strings=DOCUMENT_STRINGS,
    booleans=DOCUMENT_BOOLEANS,
    integers=("id",),
    money=(*DOCUMENT_MONEY, "amount_applied_to_invoice"),
    timestamps=DOCUMENT_TIMESTAMPS,
    computed={**_customer_relation(), "status": ("string", credit_note_status)},
)


@dataclass(frozen=True)
class RouteQuery:
    """The query options one route declares, enforced while every named switch is on."""

    options: Options
    switches: tuple[str, ...] = ("strict_query_options",)


STRICT_CUSTOMER_WRITE = ("strict_query_options", "strict_customer_write_options")
# Per route (list, create, update, delete); routes left out declare nothing and take any
# query (ListInvoicesRoute, ListContactsRoute, RetrieveCustomerRoute, RetrievePaymentRoute...).
CUSTOMER_QUERIES = {
    "list": RouteQuery(CUSTOMER_LIST_QUERY),
    "create": RouteQuery(WRITE_QUERY, STRICT_CUSTOMER_WRITE),
    "update": RouteQuery(WRITE_QUERY, STRICT_CUSTOMER_WRITE),
    "delete": RouteQuery(NO_QUERY),
}
PAYMENT_QUERIES = {
    "list": RouteQuery(PAYMENT_LIST_QUERY),
    "create": RouteQuery(WRITE_QUERY),
    "update": RouteQuery(PAYMENT_EDIT_QUERY),
}


@dataclass(frozen=True)
class Resource:
    """One top-level collection; operations are bound to the store."""

    path: str
    listing: Listing
    records: Callable[[], Iterable[Any]]
    get: Callable[[Any], Any]
    create: Callable[[dict[str, Any]], Any]
    update: Callable[[Any, dict[str, Any]], Any]
    delete: Callable[[Any], Any]
    sync_object: str | None = None
    queries: Mapping[str, RouteQuery] = field(default_factory=dict)


def build_resources(store: Store) -> list[Resource]:
    def pricing(path: str, kind: Any, fields: dict[str, FieldSpec]) -> Resource:
        return Resource(
            path=path,
            listing=Listing(fields, integer_ids=False),
            records=lambda: getattr(store, kind.table).values(),
            get=partial(get_pricing, store, kind),
            create=partial(create_pricing, store, kind),
            update=partial(update_pricing, store, kind),
            delete=partial(delete_pricing, store, kind),
        )

    return [
        Resource(
            path="/customers",
            listing=Listing(CUSTOMER_FIELDS),
            records=lambda: store.customers.values(),
            get=partial(get_customer, store),
            create=partial(create_customer, store),
            update=partial(update_customer, store),
            delete=partial(delete_customer, store),
            sync_object="customer",
            queries=CUSTOMER_QUERIES,
        ),
        pricing("/items", ITEMS, ITEM_FIELDS),
        pricing("/tax_rates", TAX_RATES, TAX_RATE_FIELDS),
        pricing("/coupons", COUPONS, COUPON_FIELDS),
        Resource(
            path="/invoices",
            listing=Listing(invoice_fields(store.invoice_status), dated=True, due_date_column=True),
            records=lambda: store.invoices.values(),
            get=partial(get_document, store, INVOICES),
            create=partial(create_document, store, INVOICES),
            update=partial(update_document, store, INVOICES),
            delete=partial(delete_document, store, INVOICES),
            sync_object="invoice",
        ),
        Resource(
            path="/credit_notes",
            listing=Listing(CREDIT_NOTE_FIELDS, dated=True),
            records=lambda: store.credit_notes.values(),
            get=partial(get_document, store, CREDIT_NOTES),
            create=partial(create_credit_note, store),
            update=partial(update_document, store, CREDIT_NOTES),
            delete=partial(delete_document, store, CREDIT_NOTES),
            sync_object="credit_note",
        ),
        Resource(
            path="/payments",
            listing=Listing(PAYMENT_FIELDS, dated=True),
            records=lambda: store.payments.values(),
            get=partial(get_payment, store),
            create=partial(create_payment, store),
            update=partial(update_payment, store),
            delete=partial(void_payment, store),
            sync_object="payment",
            queries=PAYMENT_QUERIES,
        ),
        Resource(
            path="/transactions",
            listing=Listing(TRANSACTION_FIELDS, dated=True),
            records=lambda: store.refunds.values(),
            get=partial(get_refund, store),
            create=partial(create_transaction, store),
            update=partial(update_transaction, store),
            delete=partial(delete_transaction, store),
        ),
    ]
