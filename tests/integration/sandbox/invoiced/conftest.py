"""One Invoiced sandbox per test session, reset before every test."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.common.faults import FaultConfig
from sandbox.common.serve import running_server
from sandbox.invoiced.app import create_app
from sandbox.invoiced.config import InvoicedConfig
from sandbox.invoiced.state import SandboxState
from tests.integration.sandbox.invoiced.invoiced_client import InvoicedClient


@pytest.fixture(scope="session")
def invoiced_app() -> Any:
    # Numbered from 1, so rule tests can name records by id; the shared id space of
    # several accounts has its own test.
    return create_app(InvoicedConfig(id_base=0))


@pytest.fixture(scope="session")
def invoiced_url(invoiced_app: Any) -> Iterator[str]:
    with running_server(invoiced_app) as base_url:
        yield base_url


@pytest.fixture
def sandbox_state(invoiced_app: Any) -> Iterator[SandboxState]:
    """The live sandbox state; config switches changed by a test are restored after it."""
    state: SandboxState = invoiced_app.state.sandbox
    saved = state.config.model_copy()
    yield state
    for name in type(state.config).model_fields:
        setattr(state.config, name, getattr(saved, name))


@pytest.fixture
def inv(invoiced_url: str, sandbox_state: SandboxState) -> InvoicedClient:
    sandbox_state.reset()
    sandbox_state.clock.set(int(time.time()))
    sandbox_state.faults.configure(FaultConfig())
    sandbox_state.stats.reset()
    return InvoicedClient(invoiced_url, sandbox_state.config.api_key)


@pytest.fixture
def customer(inv: InvoicedClient) -> dict[str, Any]:
    return inv.create("/customers", {"name": "Acme Corp", "email": "ap@acme.example.com"})


@pytest.fixture
def make_invoice(inv: InvoicedClient, customer: dict[str, Any]) -> Any:
    """Create an invoice for the default customer: ``make_invoice(total=100, **fields)``."""

    def make(total: float = 100, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "customer": customer["id"],
            "items": [{"name": "Service", "unit_cost": total}],
        }
        body.update(fields)
        return inv.create("/invoices", body)

    return make


@pytest.fixture
def pay(inv: InvoicedClient, customer: dict[str, Any]) -> Any:
    """Apply a payment: ``pay({invoice_id: amount, ...}, amount=None)``."""

    def apply(splits: dict[int, float], amount: float | None = None, **fields: Any) -> requests.Response:
        body: dict[str, Any] = {
            "customer": customer["id"],
            "amount": amount if amount is not None else sum(splits.values()),
            "applied_to": [
                {"type": "invoice", "invoice": iid, "amount": value} for iid, value in splits.items()
            ],
        }
        body.update(fields)
        return inv.post("/payments", json=body)

    return apply
