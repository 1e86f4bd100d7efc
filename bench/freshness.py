"""Benchmark: how fresh the other side is. Median and 95th percentile of the time from a
change on Invoiced to the record in QBO, and from a change in QBO to the record on
Invoiced.

Conditions are `make run`'s: both sandboxes (QBO's latency model on) and `airflow
standalone` (API server, scheduler, DAG processor, triggerer, LocalExecutor) with the
Accounting Sync plugin; the company connected; both DAGs switched on with their ordinary
schedule (their webhook asset or the hour); both sandboxes delivering webhooks to the
plugin's endpoints. After one run of each DAG has synced the demo books, each sample makes
one change while no run is in progress and times it until the record can be read on the
other side (polled every half second). Between samples the bench waits until both DAGs are
idle again, so a sample includes neither the echo run of the previous one nor a queue.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import uuid
from collections.abc import Callable
from statistics import median
from typing import Any

import requests

from sandbox.quickbooks.config import LatencyConfig
from tests.e2e.airflow_harness import (
    Airflow,
    enter_in_quickbooks,
    in_quickbooks,
    issue_on_invoiced,
    on_invoiced,
    running_airflow,
    wait_for_dags,
    wait_until_idle,
    wire_webhooks,
)

DAGS = ["qbo_sync", "qbo_import"]
TARGETS = {"p50_seconds": 60, "p95_seconds": 120}
GIVE_UP_SECONDS = 900


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank: the smallest sample at or above ``fraction`` of them."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def time_change(airflow: Airflow, change: Callable[[Airflow, str], None], arrived: Callable[[Airflow, str], bool],
                prefix: str) -> float:
    wait_until_idle(airflow, DAGS)
    number = f"{prefix}{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    change(airflow, number)
    while not arrived(airflow, number):
        if time.monotonic() - started > GIVE_UP_SECONDS:
            raise TimeoutError(f"{number} did not arrive within {GIVE_UP_SECONDS} s")
        time.sleep(0.5)
    return round(time.monotonic() - started, 1)


def summary(direction: str, samples: list[float]) -> dict[str, Any]:
    return {f"{direction}_p50_seconds": round(median(samples), 1),
            f"{direction}_p95_seconds": round(percentile(samples, 0.95), 1),
            f"{direction}_samples_seconds": samples}


def run(samples: int) -> dict[str, Any]:
    latency = LatencyConfig(enabled=True)
    with running_airflow() as airflow:
        requests.post(f"{airflow.qbo_url}/_sandbox/latency", json=latency.model_dump(), timeout=10).raise_for_status()
        wire_webhooks(airflow)
        wait_for_dags(airflow, DAGS)
        for dag_id in DAGS:  # auto-sync on, and the demo books synced once
            airflow.api(f"dags/{dag_id}", "PATCH", {"is_paused": False})
            airflow.api(f"dags/{dag_id}/dagRuns", "POST", {"logical_date": None})
        to_qbo = [time_change(airflow, issue_on_invoiced, in_quickbooks, "FRESH-") for _ in range(samples)]
        to_invoiced = [time_change(airflow, enter_in_quickbooks, on_invoiced, "Q") for _ in range(samples)]
        deliveries = {name: requests.get(f"{url}/_sandbox/webhooks", timeout=10).json()
                      for name, url in (("quickbooks", airflow.qbo_url), ("invoiced", airflow.invoiced_url))}
    from accounting_sync.webhooks.trigger import POLL_SECONDS

    return {
        "benchmark": "freshness",
        **summary("invoiced_to_qbo", to_qbo),
        **summary("qbo_to_invoiced", to_invoiced),
        "targets": TARGETS,
        # A QBO delivery answered after 3 s counts as failed: 0 means every answer was in time.
        "webhook_deliveries": {name: {key: status[key] for key in ("deliveries", "delivered_events", "failed_attempts")}
                               for name, status in deliveries.items()},
        "samples_per_direction": samples,
        "trigger_poll_seconds": POLL_SECONDS,
        "schedule": "webhook asset or @hourly (AssetOrTimeSchedule), max_active_runs=1",
        "airflow": "airflow standalone: LocalExecutor, SQLite metadata DB, one machine",
        "latency": latency.model_dump(),
        "measures": "change made on one side -> record readable on the other side, both DAGs idle before each change",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5, help="changes timed in each direction")
    args = parser.parse_args()
    print(json.dumps(run(args.samples), indent=2))


if __name__ == "__main__":
    main()
