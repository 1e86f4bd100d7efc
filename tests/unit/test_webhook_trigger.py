"""The trigger behind each company's webhook asset, run on its own event loop against a
state store in the test's folder (the deployment's store, as the triggerer opens it)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from accounting_sync.store.facade import StateStore, open_store
from accounting_sync.webhooks.trigger import WebhookEventTrigger


@pytest.fixture
def deployed_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StateStore]:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("AIRFLOW_CONN_ACCOUNTING_SYNC_DB", json.dumps({"conn_type": "sqlite", "extra": {"sqlalchemy_url": url}}))
    open_store.cache_clear()
    yield open_store()
    open_store.cache_clear()


def event(event_id: str, company: str = "default", source: str = "invoiced") -> dict[str, object]:
    return {"company_key": company, "source": source, "event_id": event_id, "entity_type": "invoice",
            "entity_id": "1", "operation": "created", "occurred_at": None}


def test_waiting_events_of_the_company_and_source_become_one_trigger_event(deployed_store: StateStore) -> None:
    deployed_store.record_webhook_events([event("1"), event("2"), event("3", company="acme"),
                                          event("4", source="quickbooks")])
    trigger = WebhookEventTrigger("default", "invoiced")

    first = asyncio.run(trigger.poll_once())
    again = asyncio.run(trigger.poll_once())

    assert first is not None and first.payload == {"company": "default", "source": "invoiced", "events": 2}
    assert again is None  # claimed: a later poll does not ask for another run for the same events


def test_run_yields_when_an_event_arrives(deployed_store: StateStore) -> None:
    trigger = WebhookEventTrigger("default", "quickbooks", poll_interval=0)

    async def first_event() -> object:
        stream = trigger.run()
        deployed_store.record_webhook_events([event("9", source="quickbooks")])
        return await anext(stream)

    fired = asyncio.run(first_event())
    assert fired.payload["events"] == 1  # type: ignore[attr-defined]


def test_a_store_that_fails_is_logged_and_the_trigger_keeps_going(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(company: str, source: str) -> int:
        raise ConnectionError("database is down")

    monkeypatch.setattr("accounting_sync.webhooks.trigger.claim_events", broken)
    assert asyncio.run(WebhookEventTrigger("default", "invoiced").poll_once()) is None
    assert "Could not read the webhook events of company 'default'" in caplog.text


def test_the_trigger_serializes_to_what_it_was_built_with() -> None:
    classpath, kwargs = WebhookEventTrigger("acme", "quickbooks", 2.5).serialize()
    assert classpath == "accounting_sync.webhooks.trigger.WebhookEventTrigger"
    assert WebhookEventTrigger(**kwargs).serialize() == (classpath, kwargs)
