"""The Invoiced sandbox's webhooks: an event per change of an invoice, credit note, payment
or customer, in Invoiced's event shape, signed with X-Invoiced-Signature, retried."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.integration.sandbox.invoiced.invoiced_client import InvoicedClient
from tests.support.webhook_receiver import Receiver, webhook_receiver

SECRET = "whsec-sandbox"


@pytest.fixture
def receiver(inv: InvoicedClient) -> Iterator[Receiver]:
    with webhook_receiver() as receiver:
        register(inv, receiver)
        yield receiver


def register(inv: InvoicedClient, receiver: Receiver, **options: Any) -> None:
    response = requests.post(f"{inv.base_url}/_sandbox/webhooks",
                             json={"url": receiver.url, "secret": SECRET, **options}, timeout=10)
    response.raise_for_status()


def events(receiver: Receiver, count: int) -> list[dict[str, Any]]:
    receiver.wait_for(lambda r: len(r.accepted()) >= count)
    delivered = receiver.accepted()
    for delivery in delivered:
        expected = hmac.new(SECRET.encode(), delivery.body, hashlib.sha256).hexdigest()
        assert delivery.headers["x-invoiced-signature"] == expected
        assert delivery.headers["user-agent"] == "Invoiced/1.0"
    return [json.loads(d.body) for d in delivered]


def test_each_change_is_one_signed_event_with_the_object(
    inv: InvoicedClient, receiver: Receiver, customer: dict[str, Any], make_invoice: Any
) -> None:
    invoice = make_invoice(total=50)
    inv.patch(f"/invoices/{invoice['id']}", {"notes": "changed"}).raise_for_status()

    created_customer, created, updated = events(receiver, 3)
    assert (created_customer["type"], created_customer["data"]["object"]["id"]) == ("customer.created", customer["id"])
    assert (created["type"], created["data"]["object"]["id"]) == ("invoice.created", invoice["id"])
    assert updated["type"] == "invoice.updated" and updated["data"]["object"]["notes"] == "changed"
    assert created["object"] == "event" and isinstance(created["timestamp"], int)
    assert len({e["id"] for e in (created_customer, created, updated)}) == 3


def test_payments_credit_notes_and_deletes_are_announced(
    inv: InvoicedClient, receiver: Receiver, customer: dict[str, Any], make_invoice: Any, pay: Any
) -> None:
    invoice = make_invoice(total=80, draft=True)
    inv.delete(f"/invoices/{invoice['id']}").raise_for_status()
    open_invoice = make_invoice(total=40)
    pay({open_invoice["id"]: 40}).raise_for_status()
    inv.create("/credit_notes", {"customer": customer["id"], "items": [{"name": "Refund", "unit_cost": 5}]})

    types = [e["type"] for e in events(receiver, 6)]
    assert types == ["customer.created", "invoice.created", "invoice.deleted", "invoice.created",
                     "payment.created", "credit_note.created"]


def test_a_failed_delivery_is_retried(inv: InvoicedClient) -> None:
    with webhook_receiver(fail_first=1) as receiver:
        register(inv, receiver, retry_seconds=[0.05])
        inv.create("/customers", {"name": "Retry Co"})

        receiver.wait_for(lambda r: len(r.accepted()) == 1)
        assert receiver.answered == [500, 200] and receiver.requests[0].body == receiver.requests[1].body


def test_the_default_retry_is_hourly_for_48_attempts(inv: InvoicedClient) -> None:
    with webhook_receiver() as receiver:
        register(inv, receiver)
        status = requests.get(f"{inv.base_url}/_sandbox/webhooks", timeout=10).json()
    assert status["retry_seconds"] == [3600] * 47
