"""Webhooks start the sync: a real Airflow (`airflow standalone`: API server, scheduler,
DAG processor, triggerer) with both sandboxes delivering webhooks to the Accounting Sync
endpoints. A change on either side reaches the other through an asset-triggered run,
with the hourly schedule still in place."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.airflow_harness import (
    Airflow,
    dag_runs,
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
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def airflow() -> Iterator[Airflow]:
    """Both DAGs switched on (auto-sync) after one run each has synced the demo books."""
    with running_airflow() as running:
        wire_webhooks(running)
        wait_for_dags(running, DAGS)
        for dag_id in DAGS:
            running.api(f"dags/{dag_id}", "PATCH", {"is_paused": False})
            running.api(f"dags/{dag_id}/dagRuns", "POST", {"logical_date": None})
        wait_until_idle(running, DAGS)
        yield running


def eventually(found: Callable[[], Any], seconds: float, what: str, airflow: Airflow) -> Any:
    deadline = time.monotonic() + seconds
    while not (result := found()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {seconds:.0f} s:\n{airflow.log_tail()}")
        time.sleep(1)
    return result


def newest_run(airflow: Airflow, dag_id: str, after: set[str]) -> dict[str, Any] | None:
    runs = [run for run in dag_runs(airflow, dag_id) if run["dag_run_id"] not in after]
    return runs[0] if runs else None


def test_an_invoice_issued_on_invoiced_reaches_quickbooks_by_an_asset_triggered_run(airflow: Airflow) -> None:
    before = {run["dag_run_id"] for run in dag_runs(airflow, "qbo_sync")}
    number = f"HOOK-{uuid.uuid4().hex[:6]}"
    issue_on_invoiced(airflow, number)

    eventually(lambda: in_quickbooks(airflow, number), 600, f"{number} in QBO", airflow)
    run = newest_run(airflow, "qbo_sync", before)
    assert run is not None and run["run_type"] == "asset_triggered", run


def test_an_invoice_entered_in_quickbooks_reaches_invoiced_by_an_asset_triggered_run(airflow: Airflow) -> None:
    wait_until_idle(airflow, DAGS)
    before = {run["dag_run_id"] for run in dag_runs(airflow, "qbo_import")}
    number = f"Q{uuid.uuid4().hex[:6]}"
    enter_in_quickbooks(airflow, number)

    eventually(lambda: on_invoiced(airflow, number), 600, f"{number} on Invoiced", airflow)
    run = newest_run(airflow, "qbo_import", before)
    assert run is not None and run["run_type"] == "asset_triggered", run


def test_a_burst_of_changes_makes_at_most_one_run_and_one_queued(airflow: Airflow) -> None:
    """Events waiting at one poll make one asset event; one run at a time, so events during
    a run fold into one queued run: however many changes, at most two runs."""
    wait_until_idle(airflow, DAGS)
    before = {run["dag_run_id"] for run in dag_runs(airflow, "qbo_sync")}
    numbers = [f"BURST-{n}-{uuid.uuid4().hex[:4]}" for n in range(5)]
    for number in numbers:
        issue_on_invoiced(airflow, number)

    eventually(lambda: all(in_quickbooks(airflow, n) for n in numbers), 600, "the burst in QBO", airflow)
    wait_until_idle(airflow, DAGS)
    runs = [r for r in dag_runs(airflow, "qbo_sync") if r["dag_run_id"] not in before and r["run_type"] == "asset_triggered"]
    assert 1 <= len(runs) <= 2, runs
