"""The webhook endpoints, mounted the way Airflow mounts the app, with no Airflow user:
a signature is their only authentication. Bad, missing, replayed and good deliveries for
both senders, in both of Intuit's payload formats."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ui_support import mounted

from accounting_sync.store.facade import StateStore

INVOICED_SECRET = "whsec-invoiced-1"
VERIFIER_TOKEN = "verify_me"
REALM = "9130350000001"
INVOICED_URL = "/accounting-sync/webhooks/invoiced/default"
INTUIT_URL = "/accounting-sync/webhooks/quickbooks"


@pytest.fixture
def client(ui_app: FastAPI, store: StateStore, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """The default company with both webhook secrets in its connections, connected to REALM."""
    invoiced = {"conn_type": "invoiced", "host": "http://invoiced.test", "password": "key",
                "extra": {"webhook_secret": INVOICED_SECRET}}
    quickbooks = {"conn_type": "quickbooks", "host": "http://qbo.test", "login": "id", "password": "secret",
                  "extra": {"environment": "local", "webhook_verifier_token": VERIFIER_TOKEN}}
    monkeypatch.setenv("AIRFLOW_CONN_INVOICED_DEFAULT", json.dumps(invoiced))
    monkeypatch.setenv("AIRFLOW_CONN_QUICKBOOKS_DEFAULT", json.dumps(quickbooks))
    with store.locked_token("default") as token:
        token.realm_id, token.status = REALM, "connected"
    return mounted(ui_app)


def invoiced_event(event_id: int = 1001, kind: str = "invoice.created") -> bytes:
    event = {"id": event_id, "type": kind, "timestamp": 1767225600,
             "data": {"object": {"id": 46225, "object": kind.split(".")[0], "number": "INV-0016"}}}
    return json.dumps(event).encode()


def invoiced_headers(body: bytes, secret: str = INVOICED_SECRET) -> dict[str, str]:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Invoiced-Signature": signature, "Content-Type": "application/json"}


def cloud_events(*ids: str, realm: str = REALM) -> bytes:
    return json.dumps([
        {"specversion": "1.0", "id": event_id, "source": "intuit.abc", "type": "qbo.invoice.updated.v1",
         "datacontenttype": "application/json", "time": "2026-05-10T21:31:25.179851517Z",
         "intuitentityid": "130", "intuitaccountid": realm, "data": {}}
        for event_id in ids
    ]).encode()


def legacy_notification(realm: str = REALM) -> bytes:
    return json.dumps({"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": [
        {"name": "Customer", "id": "1", "operation": "Create", "lastUpdated": "2026-05-10T14:42:19-0700"},
        {"name": "Payment", "id": "5", "operation": "Update", "lastUpdated": "2026-05-10T14:42:20-0700"},
    ]}}]}).encode()


def intuit_headers(body: bytes, token: str = VERIFIER_TOKEN) -> dict[str, str]:
    signature = base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest()).decode()
    return {"intuit-signature": signature, "Content-Type": "application/json; charset=utf-8"}


def stored(store: StateStore) -> list[tuple[str, str, str, str]]:
    return sorted((e.source, e.entity_type, e.entity_id, e.operation) for e in store.webhook_events("default"))


def test_the_signature_scheme_is_intuits_published_vector() -> None:
    assert intuit_headers(b'{"stuff":"5"}')["intuit-signature"] == "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA="


def test_a_signed_invoiced_event_is_stored_without_an_airflow_user(client: TestClient, store: StateStore) -> None:
    body = invoiced_event()
    response = client.post(INVOICED_URL, content=body, headers=invoiced_headers(body))

    assert response.status_code == 200 and response.json() == {"stored": 1, "repeated": 0, "unknown_realm": 0}
    assert stored(store) == [("invoiced", "invoice", "46225", "created")]


@pytest.mark.parametrize("headers", [
    {},
    {"X-Invoiced-Signature": ""},
    {"X-Invoiced-Signature": "0" * 64},
    invoiced_headers(invoiced_event(), secret="another-secret"),
    invoiced_headers(invoiced_event(event_id=2002)),  # signed, but for another body
], ids=["missing", "empty", "wrong", "other-secret", "other-body"])
def test_an_invoiced_event_without_its_signature_is_refused_and_changes_nothing(
    client: TestClient, store: StateStore, headers: dict[str, str]
) -> None:
    response = client.post(INVOICED_URL, content=invoiced_event(), headers=headers)

    assert response.status_code == 401
    assert response.json() == {"detail": "The webhook signature is missing or does not match."}
    assert stored(store) == []


def test_the_signature_is_checked_before_the_body_is_read(client: TestClient, store: StateStore) -> None:
    response = client.post(INVOICED_URL, content=b"not json", headers={"X-Invoiced-Signature": "0" * 64})
    signed = client.post(INVOICED_URL, content=b"not json", headers=invoiced_headers(b"not json"))

    assert response.status_code == 401  # not a 400 about the JSON: an unsigned body is not looked at
    assert signed.status_code == 400 and stored(store) == []


def test_an_invoiced_event_for_a_company_not_served_here_is_refused(client: TestClient, store: StateStore) -> None:
    body = invoiced_event()
    response = client.post("/accounting-sync/webhooks/invoiced/acme", content=body, headers=invoiced_headers(body))

    assert response.status_code == 401 and stored(store) == []


def test_a_company_without_a_webhook_secret_refuses_every_event(
    client: TestClient, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_INVOICED_DEFAULT", json.dumps(
        {"conn_type": "invoiced", "host": "http://invoiced.test", "password": "key"}))
    body = invoiced_event()
    empty = hmac.new(b"", body, hashlib.sha256).hexdigest()

    response = client.post(INVOICED_URL, content=body, headers={"X-Invoiced-Signature": empty})

    assert response.status_code == 401 and stored(store) == []


def test_a_replayed_invoiced_event_is_recognised_by_its_id(client: TestClient, store: StateStore) -> None:
    body = invoiced_event()
    first = client.post(INVOICED_URL, content=body, headers=invoiced_headers(body))
    again = client.post(INVOICED_URL, content=body, headers=invoiced_headers(body))

    assert first.json()["stored"] == 1
    assert again.status_code == 200 and again.json() == {"stored": 0, "repeated": 1, "unknown_realm": 0}
    assert len(stored(store)) == 1


@pytest.mark.parametrize(("body", "expected"), [
    (cloud_events("88cd52aa-1"), [("quickbooks", "invoice", "130", "updated")]),
    (legacy_notification(), [("quickbooks", "customer", "1", "created"), ("quickbooks", "payment", "5", "updated")]),
], ids=["cloudevents", "legacy"])
def test_a_signed_intuit_notification_is_stored_for_the_company_of_its_realm(
    client: TestClient, store: StateStore, body: bytes, expected: list[tuple[str, ...]]
) -> None:
    response = client.post(INTUIT_URL, content=body, headers=intuit_headers(body))

    assert response.status_code == 200 and response.json()["stored"] == len(expected)
    assert stored(store) == expected


@pytest.mark.parametrize("body", [cloud_events("88cd52aa-1"), legacy_notification()], ids=["cloudevents", "legacy"])
@pytest.mark.parametrize("signature", [None, "", "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA="], ids=["missing", "empty", "wrong"])
def test_an_intuit_notification_without_its_signature_is_refused(
    client: TestClient, store: StateStore, body: bytes, signature: str | None
) -> None:
    headers = {} if signature is None else {"intuit-signature": signature}
    response = client.post(INTUIT_URL, content=body, headers=headers)

    assert response.status_code == 401 and stored(store) == []


@pytest.mark.parametrize("body", [cloud_events("88cd52aa-1", "88cd52aa-2"), legacy_notification()],
                         ids=["cloudevents", "legacy"])
def test_a_replayed_intuit_notification_is_recognised(client: TestClient, store: StateStore, body: bytes) -> None:
    first = client.post(INTUIT_URL, content=body, headers=intuit_headers(body))
    again = client.post(INTUIT_URL, content=body, headers=intuit_headers(body))

    assert first.json()["stored"] == 2
    assert again.status_code == 200 and again.json() == {"stored": 0, "repeated": 2, "unknown_realm": 0}


def test_events_of_a_realm_no_company_is_connected_to_are_answered_but_not_kept(
    client: TestClient, store: StateStore
) -> None:
    body = json.dumps(json.loads(cloud_events("a-1")) + json.loads(cloud_events("b-1", realm="555"))).encode()
    response = client.post(INTUIT_URL, content=body, headers=intuit_headers(body))

    assert response.status_code == 200 and response.json() == {"stored": 1, "repeated": 0, "unknown_realm": 1}
    assert len(stored(store)) == 1


def test_secrets_and_signatures_stay_out_of_the_logs(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = invoiced_event()
    headers = invoiced_headers(body)
    client.post(INVOICED_URL, content=body, headers=headers)
    client.post(INVOICED_URL, content=body, headers={"X-Invoiced-Signature": "f" * 64})
    intuit = intuit_headers(cloud_events("x"))
    client.post(INTUIT_URL, content=cloud_events("x"), headers=intuit)

    for secret in (INVOICED_SECRET, VERIFIER_TOKEN, headers["X-Invoiced-Signature"], intuit["intuit-signature"]):
        assert secret not in caplog.text
    assert "Refused an Invoiced webhook" in caplog.text


def test_a_body_too_large_is_refused_unread(client: TestClient, store: StateStore) -> None:
    body = b"[" + b" " * (1024 * 1024) + b"]"
    response = client.post(INTUIT_URL, content=body, headers=intuit_headers(body))

    assert response.status_code == 413 and stored(store) == []


def test_pages_stay_behind_airflow_auth_next_to_the_webhooks(client: TestClient) -> None:
    response = client.get("/accounting-sync/webhooks/quickbooks")

    assert response.status_code == 405  # the webhook routes take POSTs only
    assert client.get("/accounting-sync/").status_code == 401




def test_an_event_id_longer_than_the_column_is_kept_by_its_hash(client: TestClient, store: StateStore) -> None:
    body = cloud_events("x" * 300)
    first = client.post(INTUIT_URL, content=body, headers=intuit_headers(body))
    again = client.post(INTUIT_URL, content=body, headers=intuit_headers(body))

    assert first.json()["stored"] == 1 and again.json()["repeated"] == 1
    (event,) = store.webhook_events("default")
    assert event.event_id.startswith("sha256-") and len(event.event_id) <= 128
