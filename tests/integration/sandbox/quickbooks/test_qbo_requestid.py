"""`requestid` idempotency: a repeated request returns the first answer and writes nothing."""

from __future__ import annotations

from qbo_support import Qbo, fault


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
