"""Fast loading for benchmarks: many records per call, validated like the API.

Sections load in order customers, items, invoices, payments, so one call may also
reference records created by an earlier call. Loading stops at the first invalid record
(records before it stay); the error names the section and index.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from pydantic import BaseModel, Field

from sandbox.invoiced.catalog import ITEMS, create_pricing
from sandbox.invoiced.customers import create_customer
from sandbox.invoiced.documents import INVOICES, create_document
from sandbox.invoiced.errors import ApiError
from sandbox.invoiced.payments import create_payment
from sandbox.invoiced.store import Store


class BulkLoad(BaseModel):
    customers: list[dict[str, Any]] = Field(default_factory=list)
    items: list[dict[str, Any]] = Field(default_factory=list)
    invoices: list[dict[str, Any]] = Field(default_factory=list)
    payments: list[dict[str, Any]] = Field(default_factory=list)


def _sections(store: Store) -> list[tuple[str, Callable[[dict[str, Any]], Any]]]:
    return [
        ("customers", partial(create_customer, store)),
        ("items", partial(create_pricing, store, ITEMS)),
        ("invoices", partial(create_document, store, INVOICES)),
        ("payments", partial(create_payment, store)),
    ]


def bulk_load(store: Store, load: BulkLoad) -> dict[str, list[Any]]:
    """Create every record; returns the new ids per section."""
    created: dict[str, list[Any]] = {}
    with store.lock:
        for section, create in _sections(store):
            ids: list[Any] = []
            for index, payload in enumerate(getattr(load, section)):
                try:
                    ids.append(create(payload).id)
                except ApiError as error:
                    raise ApiError(
                        error.status, f"{section}[{index}]: {error.message}", error.param
                    ) from error
            created[section] = ids
    return created
