"""Intuit's webhook notifications from the QBO sandbox: every change of an entity Intuit
notifies about, in the CloudEvents format (mandatory since 2026, the default) or the
legacy ``eventNotifications`` format, signed with ``intuit-signature`` (base64
HMAC-SHA256 of the body, keyed by the verifier token), one delivery at a time with later
events held back until the first is acknowledged, and retried on Intuit's schedule."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any, Literal

from sandbox.common.webhooks import WebhookSender

FORMATS = ("cloudevents", "legacy")
WEBHOOK_ENTITIES = frozenset({
    "Account", "Bill", "BillPayment", "Budget", "Class", "CreditMemo", "Currency", "Customer", "Department",
    "Deposit", "Employee", "Estimate", "Invoice", "Item", "JournalEntry", "Payment", "PaymentMethod",
    "Preferences", "Purchase", "PurchaseOrder", "RefundReceipt", "SalesReceipt", "Term", "TimeActivity",
    "Transfer", "Vendor", "VendorCredit",
})
"""The entities Intuit's webhooks page lists."""
PAST = {"Create": "created", "Update": "updated", "Delete": "deleted", "Merge": "merged", "Void": "voided"}
RETRY_SCHEDULES: dict[str, list[float]] = {
    # Intuit's webhooks page (older copy): retries at 20, 30 and 50 minutes, then dropped.
    "webhooks_page": [1200.0, 1800.0, 3000.0],
    # Intuit's 2025 best-practices post: 0 s, 10 s, 20 s, 30 s, 5 min, 20 min, 2 h, 4 h, 6 h.
    "best_practices_2025": [0.0, 10.0, 20.0, 30.0, 300.0, 1200.0, 7200.0, 14400.0, 21600.0],
}
RetrySchedule = Literal["webhooks_page", "best_practices_2025"]
TIMEOUT_SECONDS = 3.0
"""Intuit counts an answer slower than 3 s as a failure."""


def change_event(realm_id: str, entity: str, obj_id: str, operation: str, last_updated: str) -> dict[str, Any]:
    return {"realm": realm_id, "name": entity, "id": obj_id, "operation": operation,
            "lastUpdated": last_updated, "uuid": str(uuid.uuid4())}


def encode(events: list[dict[str, Any]], body_format: str) -> bytes:
    if body_format == "legacy":
        realms: dict[str, list[dict[str, Any]]] = {}
        for event in events:
            realms.setdefault(event["realm"], []).append(
                {key: event[key] for key in ("name", "id", "operation", "lastUpdated")})
        payload: Any = {"eventNotifications": [
            {"realmId": realm, "dataChangeEvent": {"entities": entities}} for realm, entities in realms.items()]}
    else:
        payload = [{
            "specversion": "1.0",
            "id": event["uuid"],
            "source": "intuit.sandbox",
            "type": f"qbo.{event['name'].lower()}.{PAST.get(event['operation'], event['operation'].lower())}.v1",
            "datacontenttype": "application/json",
            "time": event["lastUpdated"],
            "intuitentityid": event["id"],
            "intuitaccountid": event["realm"],
            "data": {},
        } for event in events]
    return json.dumps(payload, separators=(",", ":")).encode()


def sign(verifier_token: str, body: bytes) -> dict[str, str]:
    signature = base64.b64encode(hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()).decode()
    return {
        "intuit-signature": signature,
        "content-type": "application/json; charset=utf-8",
        "user-agent": "intuit_notification_server/0.1",
        "intuit-notification-schema-version": "0.1",
        "intuit-t-id": str(uuid.uuid4()),
    }


def sender() -> WebhookSender:
    return WebhookSender(encode, sign, timeout=TIMEOUT_SECONDS, hold_back=True, batch=True)
