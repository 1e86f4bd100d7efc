"""Idempotency-Key: replay without a second write, key validation."""

from __future__ import annotations

from typing import Any

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
