"""Concurrency limit and injected faults, including commit-then-drop."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.integration.sandbox.invoiced.invoiced_client import InvoicedClient


def always(inv: InvoicedClient, kind: str, **extra: Any) -> None:
    inv.control("faults", {"probability": 1.0, "kinds": [kind], "seed": 1, **extra})


def test_concurrency_limit_answers_429(inv: InvoicedClient) -> None:
    assert inv.control("limits", {"concurrent": 2}) == {"concurrent": 2}
    always(inv, "slow", slow_seconds=0.6)
    with ThreadPoolExecutor(max_workers=5) as pool:
        responses = list(pool.map(lambda _: inv.get("/customers"), range(5)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 200, 429, 429, 429]
    limited = next(response for response in responses if response.status_code == 429)
    assert limited.json() == {
        "type": "rate_limit_error",
        "message": "Too many concurrent requests! You can only make 2 concurrent requests at a time.",
    }


def test_default_limit_is_twenty(inv: InvoicedClient) -> None:
    assert requests.get(inv.base_url + "/_sandbox/info", timeout=5).json()["concurrent"] == 20


@pytest.mark.parametrize(
    ("kind", "status", "error_type"),
    [("429", 429, "rate_limit_error"), ("500", 500, "api_error"), ("503", 503, "api_error")],
)
def test_error_faults(inv: InvoicedClient, kind: str, status: int, error_type: str) -> None:
    always(inv, kind)
    response = inv.post("/customers", json={"name": "Never stored"})
    assert response.status_code == status
    assert response.json()["type"] == error_type
    inv.control("faults", {"probability": 0.0})
    assert inv.get("/customers").json() == []
    if kind == "500":
        assert "Correlation ID: " in response.json()["message"]


def test_slow_fault_delays_then_answers(inv: InvoicedClient) -> None:
    always(inv, "slow", slow_seconds=0.3)
    started = time.monotonic()
    assert inv.get("/customers").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_a_slow_write_finishes_after_its_client_gave_up(inv: InvoicedClient) -> None:
    """The service has the whole body before it works and does not stop when the client
    goes, so a timed-out create is still made (the read-back of a client must find it)."""
    inv.control("faults", {"probability": 1.0, "kinds": ["slow"], "slow_seconds": 1.0, "limit": 1})
    with pytest.raises(requests.Timeout):
        inv.post("/customers", json={"name": "Written late"}, timeout=0.3)
    deadline = time.monotonic() + 10
    while not inv.get("/customers").json() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [c["name"] for c in inv.get("/customers").json()] == ["Written late"]


def test_faults_are_reproducible_from_the_seed(inv: InvoicedClient) -> None:
    def run() -> list[int]:
        inv.control("faults", {"probability": 0.5, "kinds": ["500"], "seed": 42})
        return [inv.get("/customers").status_code for _ in range(12)]

    first = run()
    assert first == run()
    assert set(first) == {200, 500}


def test_control_plane_is_never_faulted(inv: InvoicedClient) -> None:
    always(inv, "500")
    assert requests.get(inv.base_url + "/_sandbox/info", timeout=5).status_code == 200


def test_commit_then_drop_stores_the_write(inv: InvoicedClient) -> None:
    always(inv, "drop")
    with pytest.raises(requests.exceptions.RequestException):
        inv.post("/customers", json={"name": "Committed"})
    inv.control("faults", {"probability": 0.0})
    (stored,) = inv.get("/customers").json()
    assert stored["name"] == "Committed"


def test_retry_with_idempotency_key_after_drop_gets_the_first_answer(inv: InvoicedClient) -> None:
    always(inv, "drop")
    headers = {"Idempotency-Key": "create-committed-1"}
    with pytest.raises(requests.exceptions.RequestException):
        inv.post("/customers", json={"name": "Once"}, headers=headers)
    inv.control("faults", {"probability": 0.0})
    retry = inv.post("/customers", json={"name": "Once"}, headers=headers)
    assert retry.status_code == 201
    assert [c["id"] for c in inv.get("/customers").json()] == [retry.json()["id"]]


def test_reads_are_not_dropped(inv: InvoicedClient) -> None:
    always(inv, "drop")
    assert inv.get("/customers").status_code == 200


def test_stats_count_by_route_template(inv: InvoicedClient) -> None:
    inv.post("/customers", json={"name": "A"})
    inv.get("/customers/1")
    inv.get("/customers/2")
    stats = requests.get(inv.base_url + "/_sandbox/stats", timeout=5).json()
    rows = {(row["method"], row["path"], row["status"]): row["count"] for row in stats["requests"]}
    assert rows[("GET", "/customers/{object_id}", 200)] == 1
    assert rows[("GET", "/customers/{object_id}", 404)] == 1
    assert rows[("POST", "/customers", 201)] == 1
    assert inv.control("stats/reset")["total"] == 0
