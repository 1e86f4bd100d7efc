"""The QBO sandbox's webhooks: Intuit's two payload formats and signature, one delivery at a
time with later events held back, retries on Intuit's schedule."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator

import pytest
import requests
from qbo_support import Qbo, ServerFactory, customer

from sandbox.quickbooks.webhooks import RETRY_SCHEDULES
from tests.support.webhook_receiver import Receiver, webhook_receiver

TOKEN = "verify_me"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as receiver:
        yield receiver


def register(qbo: Qbo, receiver: Receiver, **options: object) -> dict[str, object]:
    response = requests.post(f"{qbo.base_url}/_sandbox/webhooks",
                             json={"url": receiver.url, "secret": TOKEN, **options}, timeout=10)
    response.raise_for_status()
    return dict(response.json())


def signed(body: bytes, headers: dict[str, str]) -> bool:
    expected = base64.b64encode(hmac.new(TOKEN.encode(), body, hashlib.sha256).digest()).decode()
    return headers["intuit-signature"] == expected


def test_a_change_is_notified_as_a_signed_cloud_event(qbo: Qbo, receiver: Receiver) -> None:
    register(qbo, receiver)
    created = customer(qbo, "Webhook Co")

    receiver.wait_for(lambda r: len(r.accepted()) >= 1)
    delivery = receiver.accepted()[0]
    assert signed(delivery.body, delivery.headers)
    assert delivery.headers["content-type"] == "application/json; charset=utf-8"
    events = json.loads(delivery.body)
    assert isinstance(events, list)
    assert {(e["type"], e["intuitentityid"], e["intuitaccountid"], e["specversion"]) for e in events} == {
        ("qbo.customer.created.v1", created["Id"], qbo.realm_id, "1.0")}


def test_the_legacy_format_groups_entities_by_realm(qbo: Qbo, receiver: Receiver) -> None:
    register(qbo, receiver, format="legacy")
    created = customer(qbo, "Legacy Co")

    receiver.wait_for(lambda r: len(r.accepted()) >= 1)
    delivery = receiver.accepted()[0]
    assert signed(delivery.body, delivery.headers)
    (notification,) = json.loads(delivery.body)["eventNotifications"]
    assert notification["realmId"] == qbo.realm_id
    (entity,) = notification["dataChangeEvent"]["entities"]
    assert (entity["name"], entity["id"], entity["operation"]) == ("Customer", created["Id"], "Create")
    assert entity["lastUpdated"] == created["MetaData"]["LastUpdatedTime"]


def test_a_failed_delivery_is_retried_and_holds_back_later_events(qbo: Qbo) -> None:
    with webhook_receiver(fail_first=2) as receiver:
        register(qbo, receiver, retry_seconds=[0.05, 0.05, 0.05])
        first = customer(qbo, "First Co")
        receiver.wait_for(lambda r: len(r.requests) >= 1)
        second = customer(qbo, "Second Co")

        receiver.wait_for(lambda r: len(r.accepted()) >= 2)
        ids = [e["intuitentityid"] for d in receiver.accepted() for e in json.loads(d.body)]
        assert ids == [first["Id"], second["Id"]]  # the second waited for the first to be acknowledged
        assert receiver.answered[:2] == [500, 500]
        status = requests.get(f"{qbo.base_url}/_sandbox/webhooks", timeout=10).json()
        assert status["failed_attempts"] == 2 and status["delivered_events"] == 2


def test_a_delivery_is_dropped_after_the_last_retry(qbo: Qbo) -> None:
    with webhook_receiver(fail_first=100, fail_status=503) as receiver:
        register(qbo, receiver, retry_seconds=[0.01, 0.01])
        customer(qbo, "Dropped Co")
        receiver.wait_for(lambda r: len(r.requests) >= 3)
        status: dict[str, object] = {}

        def dropped(_: Receiver) -> bool:
            status.update(requests.get(f"{qbo.base_url}/_sandbox/webhooks", timeout=10).json())
            return status["dropped_events"] == 1

        receiver.wait_for(dropped)
        assert len(receiver.requests) == 3 and status["pending_events"] == 0


def test_without_a_receiver_nothing_is_sent_and_reset_forgets_it(qbo: Qbo, receiver: Receiver) -> None:
    register(qbo, receiver)
    qbo.control("reset")
    customer(qbo, "Quiet Co")
    status = requests.get(f"{qbo.base_url}/_sandbox/webhooks", timeout=10).json()
    assert status["url"] is None and status["pending_events"] == 0


def test_the_retry_schedule_defaults_to_the_webhooks_page_and_can_be_switched(
    qbo: Qbo, receiver: Receiver, start_server: ServerFactory
) -> None:
    assert register(qbo, receiver)["retry_seconds"] == RETRY_SCHEDULES["webhooks_page"] == [1200, 1800, 3000]
    base_url, _ = start_server(webhook_retry_schedule="best_practices_2025")
    other = requests.post(f"{base_url}/_sandbox/webhooks", json={"url": receiver.url, "secret": TOKEN}, timeout=10)
    assert other.json()["retry_seconds"][:5] == [0, 10, 20, 30, 300]


def test_an_unknown_format_is_refused(qbo: Qbo, receiver: Receiver) -> None:
    response = requests.post(f"{qbo.base_url}/_sandbox/webhooks",
                             json={"url": receiver.url, "secret": TOKEN, "format": "xml"}, timeout=10)
    assert response.status_code == 422
