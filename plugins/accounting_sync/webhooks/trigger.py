"""``WebhookEventTrigger``: turns the webhook events a company has stored into an Airflow
asset event, so the company's DAG runs within seconds of a change.

Why a trigger and not a call to Airflow's REST API from the webhook endpoint: the
endpoint's callers (Invoiced, Intuit) carry no Airflow credentials, and posting
``/api/v2/assets/events`` would need a service account's password kept for the API
server. An ``AssetWatcher`` is Airflow's documented event-driven scheduling: the
triggerer runs this trigger (only while a DAG scheduled on the asset is unpaused), and
every event it yields becomes an asset event. The trigger reads the state store, never
Airflow's metadata DB. All events waiting at one poll become one asset event, and with
``max_active_runs=1`` a burst of changes becomes one run. Events are claimed before
Airflow has stored the asset event: a triggerer that dies in between loses that one
event, and the hourly run picks the change up (the records are read from the source
either way, never from the event).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0
"""How often the state store is asked for new events: the floor of the webhook latency."""


def claim_events(company: str, source: str) -> int:
    """Claim the company's waiting events from ``source`` (how many there were)."""
    from accounting_sync.store.facade import open_store

    return open_store().claim_webhook_events(company, source)


class WebhookEventTrigger(BaseEventTrigger):
    """Fires once per poll that finds new webhook events of one company from one source.

    :param company: the company key in ``include/companies.yaml``.
    :param source: ``invoiced`` or ``quickbooks``: whose webhooks it watches.
    :param poll_interval: seconds between two looks at the state store.
    """

    def __init__(self, company: str, source: str, poll_interval: float = POLL_SECONDS) -> None:
        super().__init__()
        self.company = company
        self.source = source
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"company": self.company, "source": self.source, "poll_interval": self.poll_interval},
        )

    async def poll_once(self) -> TriggerEvent | None:
        """One look at the store; a failure is logged and waits for the next poll (the
        hourly schedule is the safety net, so a webhook is never the only way in)."""
        from asgiref.sync import sync_to_async

        try:
            claimed = await sync_to_async(claim_events)(self.company, self.source)
        except Exception:  # noqa: BLE001 - the trigger must outlive a database hiccup
            log.exception("Could not read the webhook events of company %r", self.company)
            return None
        if not claimed:
            return None
        log.info("%d %s webhook event(s) for company %r: asking for a run", claimed, self.source, self.company)
        return TriggerEvent({"company": self.company, "source": self.source, "events": claimed})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            event = await self.poll_once()
            if event is not None:
                yield event
            await asyncio.sleep(self.poll_interval)
