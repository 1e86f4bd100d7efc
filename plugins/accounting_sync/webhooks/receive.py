"""Receiving a webhook delivery: check its signature, then store what it announces.

Nothing is parsed and nothing is stored before the signature matches a secret held in the
company's Airflow connection (Invoiced: ``webhook_secret``; QuickBooks: the Intuit app's
``webhook_verifier_token``). Intuit sends one stream per app with the realm in each
event: the realm is matched to the company whose stored tokens belong to it, among the
companies of the app whose token signed the body. Secrets and signatures are never logged.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from accounting_sync.config.companies import Company, load_companies
from accounting_sync.config.connections import (
    ConnectionUnusable,
    invoiced_config,
    lookup_connection,
    quickbooks_config,
)
from accounting_sync.store.facade import StateStore
from accounting_sync.webhooks.payloads import Change, intuit_changes, invoiced_changes
from accounting_sync.webhooks.signatures import intuit_signature, invoiced_signature, signed_by

log = logging.getLogger(__name__)

INVOICED = "invoiced"
QUICKBOOKS = "quickbooks"
REFUSED = "The webhook signature is missing or does not match."


class SignatureRefused(Exception):
    """No configured secret signed this body; the message is the same whatever the cause."""

    def __init__(self) -> None:
        super().__init__(REFUSED)


@dataclass(frozen=True)
class Received:
    stored: int
    repeated: int
    unknown_realm: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"stored": self.stored, "repeated": self.repeated, "unknown_realm": self.unknown_realm}


def _secret(company: Company, source: str) -> str | None:
    """The company's webhook secret for ``source``; None (logged) when it has none."""
    try:
        if source == INVOICED:
            secret = invoiced_config(lookup_connection(company.invoiced_conn_id)).webhook_secret
        else:
            secret = quickbooks_config(lookup_connection(company.quickbooks_conn_id)).webhook_verifier_token
    except ConnectionUnusable as error:
        log.warning("Webhook for company %r cannot be checked: %s", company.key, error)
        return None
    if not secret:
        log.warning("Company %r has no %s webhook secret in its connection: its webhooks are refused",
                    company.key, source)
    return secret


MAX_EVENT_ID = 128


def _event_id(event_id: str) -> str:
    """The sender's id, or its hash when longer than the column: still one per event."""
    if len(event_id) <= MAX_EVENT_ID:
        return event_id
    return "sha256-" + hashlib.sha256(event_id.encode()).hexdigest()


def _rows(company: str, source: str, changes: Iterable[Change]) -> list[dict[str, Any]]:
    return [
        {
            "company_key": company,
            "source": source,
            "event_id": _event_id(change.event_id),
            "entity_type": change.entity_type[:64],
            "entity_id": change.entity_id[:64],
            "operation": change.operation[:32],
            "occurred_at": change.occurred_at,
        }
        for change in changes
    ]


def receive_invoiced(store: StateStore, company_key: str, body: bytes, signature: str | None) -> Received:
    """An Invoiced event for one company (named in the URL)."""
    company = next((c for c in load_companies() if c.key == company_key), None)
    secret = _secret(company, INVOICED) if company else None
    if company is None or not secret or not signed_by(signature, invoiced_signature(secret, body)):
        log.warning("Refused an Invoiced webhook for company %r: signature missing or wrong", company_key)
        raise SignatureRefused
    changes = invoiced_changes(body)
    stored = store.record_webhook_events(_rows(company.key, INVOICED, changes))
    log.info("Invoiced webhook for company %r: %d new event(s), %d repeated", company.key, stored, len(changes) - stored)
    return Received(stored, len(changes) - stored)


def _signing_companies(body: bytes, signature: str | None) -> list[Company]:
    """The companies whose Intuit app's verifier token signed the body."""
    if not signature:
        return []
    return [
        company
        for company in load_companies()
        if (token := _secret(company, QUICKBOOKS)) and signed_by(signature, intuit_signature(token, body))
    ]


def receive_intuit(store: StateStore, body: bytes, signature: str | None) -> Received:
    """An Intuit notification: events of any realms connected through the signing app."""
    companies = _signing_companies(body, signature)
    if not companies:
        log.warning("Refused a QuickBooks webhook: signature missing or wrong")
        raise SignatureRefused
    changes = intuit_changes(body)
    by_realm = {
        token.realm_id: company.key
        for company in companies
        if (token := store.read_token(company.key)) is not None and token.realm_id
    }
    rows, unknown = [], 0
    for change in changes:
        company_key = by_realm.get(change.realm_id or "")
        if company_key is None:
            unknown += 1
            continue
        rows.extend(_rows(company_key, QUICKBOOKS, [change]))
    stored = store.record_webhook_events(rows)
    log.info("QuickBooks webhook: %d new event(s), %d repeated, %d for realms no company here is connected to",
             stored, len(rows) - stored, unknown)
    return Received(stored, len(rows) - stored, unknown)
