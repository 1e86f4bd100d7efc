"""When the pipeline DAGs run: on the company's webhook asset or at the top of the hour,
whichever comes first (Airflow's ``AssetOrTimeSchedule``).

``qbo_sync`` carries Invoiced's changes to QuickBooks, so it watches the Invoiced webhook
asset; ``qbo_import`` carries QuickBooks' changes to Invoiced and watches the QuickBooks
one. The hourly run stays as Intuit recommends: nothing depends on a webhook arriving.
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetOrTimeSchedule, AssetWatcher, CronTriggerTimetable

from accounting_sync.common.flows import IMPORT, SYNC, Flow
from accounting_sync.config.companies import Company
from accounting_sync.webhooks.trigger import WebhookEventTrigger

HOURLY = "@hourly"
WATCHES = {SYNC.name: "invoiced", IMPORT.name: "quickbooks"}
"""Whose webhooks start each flow."""


def changes_asset(company: Company, source: str) -> Asset:
    """The asset updated when ``source`` announces changes of the company by webhook."""
    name = f"accounting_sync__{company.key}__{source}_changes"
    return Asset(
        name=name,
        uri=f"accounting-sync://{company.key}/{source}",
        group="accounting_sync",
        watchers=[AssetWatcher(name=f"{name}_watcher", trigger=WebhookEventTrigger(company.key, source))],
    )


def changes_or_hourly(company: Company, flow: Flow) -> AssetOrTimeSchedule:
    return AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(HOURLY, timezone="UTC"),
        assets=changes_asset(company, WATCHES[flow.name]),
    )
