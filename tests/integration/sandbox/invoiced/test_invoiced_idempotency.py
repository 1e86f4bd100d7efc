"""Idempotency-Key: replay without a second write, key validation."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from sandbox.invoiced.state import SandboxState
from tests.integration.sandbox.invoiced.invoiced_client import InvoicedClient


def test_replay_returns_first_response_without_writing(inv: InvoicedClient, customer: dict[str, Any]) -> None:
    body = {"customer": customer["id"], "items": [{"unit_cost": 10}]}
    first = inv.post("/invoices", json=body, headers={"Idempotency-Key": "order-1001"})
    again = inv.post(
        "/invoices", json={**body, "notes": "different"}, headers={"idempotency-key": "order-1001"}
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert inv.get("/invoices").headers["X-Total-Count"] == "1"
    other = inv.post("/invoices", json=body, headers={"Idempotency-Key": "order-1002"})
    assert other.json()["id"] != first.json()["id"]


def test_errors_are_replayed_too(inv: InvoicedClient) -> None:
    first = inv.post("/customers", json={}, headers={"Idempotency-Key": "bad-create"})
    again = inv.post("/customers", json={"name": "Now valid"}, headers={"Idempotency-Key": "bad-create"})
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()


def test_patch_is_idempotent(inv: InvoicedClient, customer: dict[str, Any]) -> None:
    path = f"/customers/{customer['id']}"
    first = inv.patch(path, json={"notes": "a"}, headers={"Idempotency-Key": "patch-001"})
    again = inv.patch(path, json={"notes": "a"}, headers={"Idempotency-Key": "patch-001"})
    assert again.json()["updated_at"] == first.json()["updated_at"]


def test_key_validation(inv: InvoicedClient) -> None:
    short = inv.post("/customers", json={"name": "x"}, headers={"Idempotency-Key": "abc"})
    assert short.status_code == 400
    assert short.json()["message"] == "Idempotency key is too short. Must be at least 6 characters long."
    long = inv.post("/customers", json={"name": "x"}, headers={"Idempotency-Key": "k" * 65})
    assert long.json()["message"] == "Idempotency key is too long. Must be no longer than 64 characters."
    read = inv.get("/customers", headers={"Idempotency-Key": "read-key-1"})
    assert read.status_code == 400
    assert read.json()["message"] == (
        "Unsupported method: GET. Idempotency keys can only be used with POST and PATCH requests."
    )
    assert inv.get("/customers").json() == []


DAY = 86400


def fault_once(inv: InvoicedClient, kind: str, **extra: Any) -> None:
    inv.control("faults", {"probability": 1.0, "kinds": [kind], "limit": 1, **extra})


def customer_count(inv: InvoicedClient) -> int:
    return int(inv.get("/customers").headers["X-Total-Count"])


@pytest.mark.parametrize("cache_server_errors", [True, False])
def test_a_handler_500_is_cached_unless_switched_off(
    inv: InvoicedClient, sandbox_state: SandboxState, cache_server_errors: bool
) -> None:
    """ApiSubscriber caches the response whatever its status; the injected 500 writes nothing."""
    sandbox_state.config.idempotency_cache_server_errors = cache_server_errors
    fault_once(inv, "500")
    headers = {"Idempotency-Key": "create-500-1"}
    first = inv.post("/customers", json={"name": "Failed"}, headers=headers)
    assert (first.status_code, first.json()["type"]) == (500, "api_error")
    assert customer_count(inv) == 0
    retry = inv.post("/customers", json={"name": "Failed"}, headers=headers)
    if cache_server_errors:
        assert (retry.status_code, retry.json()) == (500, first.json())  # same Correlation ID: a replay
        assert customer_count(inv) == 0
    else:
        assert retry.status_code == 201
        assert customer_count(inv) == 1


@pytest.mark.parametrize("cache_server_errors", [True, False])
def test_commit_500_stores_the_write_then_fails(
    inv: InvoicedClient, sandbox_state: SandboxState, cache_server_errors: bool
) -> None:
    sandbox_state.config.idempotency_cache_server_errors = cache_server_errors
    fault_once(inv, "commit_500")
    headers = {"Idempotency-Key": "create-commit-500"}
    first = inv.post("/customers", json={"name": "Committed"}, headers=headers)
    assert (first.status_code, first.json()["type"]) == (500, "api_error")
    assert "Correlation ID: " in first.json()["message"]
    assert customer_count(inv) == 1
    retry = inv.post("/customers", json={"name": "Committed"}, headers=headers)
    if cache_server_errors:
        assert (retry.status_code, retry.json()) == (500, first.json())
        assert customer_count(inv) == 1  # the write happened; only a lookup can tell
    else:
        assert retry.status_code == 201
        assert customer_count(inv) == 2  # the retry wrote a duplicate


def test_commit_500_without_a_key_and_on_deletes(inv: InvoicedClient, customer: dict[str, Any]) -> None:
    fault_once(inv, "commit_500")
    assert inv.post("/customers", json={"name": "Second"}).status_code == 500
    assert customer_count(inv) == 2
    fault_once(inv, "commit_500")
    assert inv.delete(f"/customers/{customer['id']}").status_code == 500
    assert customer_count(inv) == 1
    fault_once(inv, "commit_500")
    assert inv.get("/customers").status_code == 200  # reads never get it


def test_faults_endpoint_takes_commit_500_and_a_limit(inv: InvoicedClient) -> None:
    config = inv.control("faults", {"probability": 1.0, "kinds": ["commit_500"], "limit": 2})
    assert (config["kinds"], config["limit"]) == (["commit_500"], 2)
    statuses = [inv.post("/customers", json={"name": f"C{n}"}).status_code for n in range(3)]
    assert statuses == [500, 500, 201]
    assert customer_count(inv) == 3


def test_keys_expire_after_24_hours_on_the_sandbox_clock(inv: InvoicedClient) -> None:
    headers = {"Idempotency-Key": "daily-key-1"}
    first = inv.post("/customers", json={"name": "Once"}, headers=headers)
    inv.control("clock", {"advance_seconds": 23 * 3600})
    assert inv.post("/customers", json={"name": "Once"}, headers=headers).json()["id"] == first.json()["id"]
    inv.control("clock", {"advance_seconds": 2 * 3600})
    later = inv.post("/customers", json={"name": "Once"}, headers=headers)
    assert later.status_code == 201
    assert later.json()["id"] != first.json()["id"]
    assert customer_count(inv) == 2


def test_401_and_429_are_decided_before_the_key_and_never_cached(inv: InvoicedClient) -> None:
    headers = {"Idempotency-Key": "auth-then-ok"}
    anonymous = requests.post(inv.base_url + "/customers", json={"name": "A"}, headers=headers, timeout=10)
    assert anonymous.status_code == 401
    fault_once(inv, "429")
    assert inv.post("/customers", json={"name": "A"}, headers=headers).status_code == 429
    fault_once(inv, "503")
    assert inv.post("/customers", json={"name": "A"}, headers=headers).status_code == 503
    assert inv.post("/customers", json={"name": "A"}, headers=headers).status_code == 201


@pytest.mark.parametrize("lock", [False, True])
def test_a_same_key_retry_during_a_slow_first_attempt(
    inv: InvoicedClient, sandbox_state: SandboxState, make_invoice: Any, lock: bool
) -> None:
    """No per-key lock (ApiSubscriber::idempotency): the retry misses the cache and pays again."""
    sandbox_state.config.idempotency_lock = lock
    invoice = make_invoice(100)
    body = {"customer": invoice["customer"], "amount": 40,
            "applied_to": [{"type": "invoice", "invoice": invoice["id"], "amount": 40}]}
    headers = {"Idempotency-Key": "pay-invoice-40"}
    fault_once(inv, "slow", slow_seconds=0.8)
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(inv.post, "/payments", json=body, headers=headers)
        deadline = time.monotonic() + 5
        while sandbox_state.faults.injected < 1 and time.monotonic() < deadline:
            time.sleep(0.01)  # the first attempt is now inside its slow handler
        retry = pool.submit(inv.post, "/payments", json=body, headers=headers)
        answers = [first.result(), retry.result()]
    assert [answer.status_code for answer in answers] == [201, 201]
    payments = inv.get("/payments").json()
    balance = inv.get(f"/invoices/{invoice['id']}").json()["balance"]
    if lock:
        assert answers[0].json() == answers[1].json()
        assert (len(payments), balance) == (1, 60)
    else:
        assert answers[0].json()["id"] != answers[1].json()["id"]
        assert (len(payments), balance) == (2, 20)
