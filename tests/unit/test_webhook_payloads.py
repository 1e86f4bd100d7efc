"""Reading webhook bodies and checking their signatures, without a server."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from accounting_sync.webhooks.payloads import PayloadInvalid, intuit_changes, invoiced_changes
from accounting_sync.webhooks.signatures import intuit_signature, invoiced_signature, signed_by


def test_intuits_published_signature_vector() -> None:
    assert intuit_signature("verify_me", b'{"stuff":"5"}') == "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA="


def test_invoiced_signs_in_lowercase_hex() -> None:
    signature = invoiced_signature("secret", b"{}")
    assert len(signature) == 64 and signature == signature.lower() and signed_by(signature, signature)


@pytest.mark.parametrize("given", [None, "", "é" * 64, "x"])
def test_a_missing_or_malformed_signature_never_matches(given: str | None) -> None:
    assert not signed_by(given, invoiced_signature("secret", b"{}"))


def test_a_cloud_event_names_entity_operation_realm_and_time() -> None:
    body = json.dumps([{"id": "e-1", "type": "qbo.creditmemo.deleted.v1", "time": "2026-05-10T21:31:25.179851517Z",
                        "intuitentityid": "77", "intuitaccountid": "310687", "data": {}}]).encode()
    (change,) = intuit_changes(body)
    assert (change.event_id, change.entity_type, change.entity_id, change.operation, change.realm_id) == (
        "e-1", "creditmemo", "77", "deleted", "310687")
    assert change.occurred_at == datetime(2026, 5, 10, 21, 31, 25, 179851, tzinfo=timezone.utc)


def test_a_legacy_notification_gets_a_stable_id_per_change() -> None:
    entity = {"name": "Invoice", "id": "9", "operation": "Void", "lastUpdated": "2026-05-10T14:42:19-0700"}
    body = json.dumps({"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": [entity]}}]}).encode()
    later = {**entity, "lastUpdated": "2026-05-10T14:50:00-0700"}
    other = json.dumps({"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": [later]}}]}).encode()

    (first,), (again,), (changed,) = intuit_changes(body), intuit_changes(body), intuit_changes(other)
    assert first.event_id == again.event_id != changed.event_id
    assert (first.entity_type, first.operation, first.realm_id) == ("invoice", "voided", "1")


def test_an_invoiced_event_reads_its_object() -> None:
    body = json.dumps({"id": 5, "type": "credit_note.updated", "timestamp": 1767225600,
                       "data": {"object": {"id": 12}}}).encode()
    (change,) = invoiced_changes(body)
    assert (change.event_id, change.entity_type, change.entity_id, change.operation) == ("5", "credit_note", "12", "updated")
    assert change.occurred_at == datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("body", [b"nope", b"{}", b'[{"id": "1"}]', b'[{"id": "1", "type": "qbo", "intuitaccountid": "1"}]'])
def test_bodies_of_another_shape_are_named_invalid(body: bytes) -> None:
    with pytest.raises(PayloadInvalid):
        intuit_changes(body)
    with pytest.raises(PayloadInvalid):
        invoiced_changes(body)
