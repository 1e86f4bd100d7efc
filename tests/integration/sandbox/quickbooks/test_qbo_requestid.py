"""`requestid` idempotency: a repeated request returns the first answer and writes nothing."""

from __future__ import annotations

from collections.abc import Callable

from qbo_support import Qbo, ServerFactory, fault


def test_same_requestid_replays_without_second_write(qbo: Qbo) -> None:
    first = qbo.post("customer", {"DisplayName": "Once Only"}, requestid="req-1")
    second = qbo.post("customer", {"DisplayName": "Once Only"}, requestid="req-1")
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert qbo.count("SELECT COUNT(*) FROM Customer") == 1


def test_replay_ignores_a_different_body(qbo: Qbo) -> None:
    first = qbo.post("customer", {"DisplayName": "Original"}, requestid="req-2").json()
    second = qbo.post("customer", {"DisplayName": "Changed"}, requestid="req-2").json()
    assert second == first
    assert qbo.count("SELECT COUNT(*) FROM Customer") == 1


def test_batch_replay(qbo: Qbo) -> None:
    body = {"BatchItemRequest": [{"bId": "1", "operation": "create", "Customer": {"DisplayName": "Batched"}}]}
    first = qbo.post("batch", body, requestid="batch-1").json()
    second = qbo.post("batch", body, requestid="batch-1").json()
    assert second == first
    assert qbo.count("SELECT COUNT(*) FROM Customer") == 1


def test_requestids_are_per_realm(qbo: Qbo) -> None:
    qbo.post("customer", {"DisplayName": "Shared Id"}, requestid="same")
    other = qbo.control("realms")["realm_id"]
    token = qbo.control("token", {"realm_id": other})["access_token"]
    response = qbo.session.post(qbo.url("customer", realm_id=other), json={"DisplayName": "Shared Id"},
                                params={"requestid": "same"}, headers=qbo.headers(token), timeout=10)
    assert response.status_code == 200
    assert response.json()["Customer"]["Id"] == "1"


def test_failed_requests_are_not_replayed_by_default(qbo: Qbo) -> None:
    assert fault(qbo.post("customer", {"DisplayName": "Bad:Name"}, requestid="req-3"))["code"] == "2040"
    assert qbo.post("customer", {"DisplayName": "Good Name"}, requestid="req-3").status_code == 200


def test_requestid_length_limits(qbo: Qbo) -> None:
    assert fault(qbo.post("customer", {"DisplayName": "Long"}, requestid="r" * 51))["code"] == "6000"
    body = {"BatchItemRequest": [{"bId": "1", "Query": "SELECT COUNT(*) FROM Item"}]}
    assert fault(qbo.post("batch", body, requestid="b" * 37))["code"] == "6000"
    assert qbo.post("customer", {"DisplayName": "Long"}, requestid="r" * 50).status_code == 200


def test_requestids_are_forgotten_after_a_day_by_default(qbo: Qbo) -> None:
    """Intuit documents no retention; a finite one (24 h) is the harder reading for clients."""
    first = qbo.create("Customer", {"DisplayName": "Day One"}, requestid="daily")
    qbo.control("clock", {"advance_seconds": 86_000})
    assert qbo.post("customer", {"DisplayName": "Day Two"}, requestid="daily").json()["Customer"] == first
    qbo.control("clock", {"advance_seconds": 401})
    assert qbo.create("Customer", {"DisplayName": "Day Two"}, requestid="daily")["Id"] != first["Id"]
    assert qbo.count("SELECT COUNT(*) FROM Customer") == 2


def test_retention_is_a_switch(start_server: ServerFactory, connect: Callable[..., Qbo]) -> None:
    qbo = connect(*start_server(requestid_ttl_seconds=None))
    first = qbo.create("Customer", {"DisplayName": "Kept"}, requestid="forever")
    qbo.control("clock", {"advance_seconds": 10 * 86_400})
    assert qbo.post("customer", {"DisplayName": "Other"}, requestid="forever").json()["Customer"] == first
