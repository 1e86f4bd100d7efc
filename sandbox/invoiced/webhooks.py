"""Invoiced's webhooks from the sandbox: an event per change of an invoice, credit note,
payment or customer, ``{"id", "object": "event", "type": "invoice.created", "timestamp",
"data": {"object": {...}}}`` (the object as the API renders it), POSTed with
``X-Invoiced-Signature`` (lowercase hex HMAC-SHA256 of the body, keyed by the webhook
secret), one event per delivery, retried every hour up to 48 attempts."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from typing import Any

from sandbox.common.webhooks import WebhookSender
from sandbox.invoiced.records import CreditNote, Customer, Invoice, Payment

FORMATS = ("invoiced",)
EVENT_OBJECTS: dict[type, str] = {Invoice: "invoice", CreditNote: "credit_note", Payment: "payment", Customer: "customer"}
RETRY_SECONDS = [3600.0] * 47
"""Every hour, 48 attempts in all; then the service disables the endpoint."""
TIMEOUT_SECONDS = 30.0


class EventLog:
    """Numbers the events and hands them to the sender."""

    def __init__(self, sender: WebhookSender) -> None:
        self.sender = sender
        self._ids = itertools.count(1)

    def announce(self, record: object, rendered: dict[str, Any], action: str, now: int) -> None:
        kind = EVENT_OBJECTS.get(type(record))
        if kind is None:
            return
        self.sender.publish({"id": next(self._ids), "object": "event", "type": f"{kind}.{action}",
                             "timestamp": now, "data": {"object": rendered}})


def encode(events: list[dict[str, Any]], _format: str) -> bytes:
    (event,) = events  # Invoiced sends one event per request
    return json.dumps(event, separators=(",", ":")).encode()


def sign(secret: str, body: bytes) -> dict[str, str]:
    return {
        "X-Invoiced-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
        "User-Agent": "Invoiced/1.0",
    }


def sender() -> WebhookSender:
    return WebhookSender(encode, sign, timeout=TIMEOUT_SECONDS, hold_back=False, batch=False)
