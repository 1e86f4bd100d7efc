"""Every DAG file imports cleanly and every DAG follows the house rules."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag  # moved here in Airflow 3.3

DAGS = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(DAGS.glob("*.py"))


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(DAGS))


def test_dag_files_exist() -> None:
    assert {f.name for f in DAG_FILES} >= {"qbo_sync.py", "qbo_import.py"}


def test_no_import_errors(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}


def test_every_dag_follows_the_rules(dagbag: DagBag) -> None:
    assert dagbag.dags, "no DAG was loaded"
    for dag_id, dag in dagbag.dags.items():
        assert dag.max_active_runs == 1, dag_id
        assert dag.catchup is False, dag_id
        assert dag.timetable is not None and dag.schedule is not None, dag_id
        assert dag.tags, dag_id
        assert dag.doc_md and len(dag.doc_md) > 200, dag_id
        assert dag.is_paused_upon_creation is True, dag_id
        for task in dag.tasks:
            assert task.owner == "accounting", f"{dag_id}.{task.task_id}"
            assert task.retries is not None, f"{dag_id}.{task.task_id}"


def test_sync_dag_shape(dagbag: DagBag) -> None:
    dag = dagbag.dags["qbo_sync"]
    assert [t.task_id for t in dag.topological_sort()] == ["extract", "transform", "load", "tie_out", "report"]
    assert set(dag.params.keys()) == {"full_resync", "since", "dry_run", "full_tie_out"}
    assert dag.get_task("load").pool == "quickbooks_api"
    assert dag.get_task("report").trigger_rule == "all_done", "a run that dies half-way must still be recorded"


@pytest.mark.parametrize("dag_id", ["qbo_sync", "qbo_import"])
def test_both_dags_tie_out_after_writing_even_when_records_failed(dagbag: DagBag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    tie_out = dag.get_task("tie_out")
    assert [t.task_id for t in dag.topological_sort()][-2:] == ["tie_out", "report"]
    assert tie_out.pool == "quickbooks_api"  # its reads count against the company's QBO limits
    assert tie_out.trigger_rule == "all_done" and "full_tie_out" in dag.params


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_parse_time_is_reported(path: Path) -> None:
    """Parse each file in a fresh interpreter, as the dag-processor does, and report it."""
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(DAGS.parent / "plugins")}
    subprocess.run([sys.executable, str(path)], check=True, capture_output=True, env=env)
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"\n{path.name}: parsed in {elapsed_ms:.0f} ms (fresh interpreter, includes importing Airflow)")


@pytest.mark.parametrize(("dag_id", "source"), [("qbo_sync", "invoiced"), ("qbo_import", "quickbooks")])
def test_each_dag_runs_on_its_webhook_asset_or_the_hour(dagbag: DagBag, dag_id: str, source: str) -> None:
    from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable

    from accounting_sync.webhooks.trigger import WebhookEventTrigger

    schedule = dagbag.dags[dag_id].schedule
    assert isinstance(schedule, AssetOrTimeSchedule)
    assert isinstance(schedule.timetable, CronTriggerTimetable)
    assert schedule.timetable.expression == "0 * * * *"  # the hourly safety net stays
    asset = schedule.asset_condition
    assert asset.uri == f"accounting-sync://default/{source}"  # type: ignore[attr-defined]
    (watcher,) = asset.watchers  # type: ignore[attr-defined]
    assert isinstance(watcher.trigger, WebhookEventTrigger)
    assert (watcher.trigger.company, watcher.trigger.source) == ("default", source)


def test_each_company_watches_its_own_webhooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    companies = tmp_path / "companies.yaml"
    companies.write_text("companies:\n  - key: default\n  - key: acme\n    invoiced_conn_id: invoiced_acme\n")
    monkeypatch.setenv("ACCOUNTING_SYNC_COMPANIES_FILE", str(companies))
    dags = DagBag(dag_folder=str(DAGS)).dags
    uris = {dag_id: dag.schedule.asset_condition.uri for dag_id, dag in dags.items()}
    assert uris["qbo_sync__acme"] == "accounting-sync://acme/invoiced"
    assert uris["qbo_import__acme"] == "accounting-sync://acme/quickbooks"
    assert uris["qbo_sync"] == "accounting-sync://default/invoiced"
