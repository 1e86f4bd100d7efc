"""The qbo_sync DAG itself, run by Airflow (``dag.test()``) against both sandboxes:
proves the wiring (params, pool, tasks, connections, state store) works end to end."""

from __future__ import annotations

import subprocess
from pathlib import Path

import requests

from accounting_sync.common import binding
from accounting_sync.invoiced.client import InvoicedClient
from accounting_sync.store.facade import StateStore
from tests.e2e.airflow_harness import dag_test
from tests.support.sandboxes import Sandboxes

OUTPUTS: list[str] = []  # what the runs printed: dag.test() writes the task logs to its output


def run_dag(env: dict[str, str], conf: dict[str, object]) -> subprocess.CompletedProcess[str]:
    result = dag_test(env, conf)
    OUTPUTS.append(result.stdout + result.stderr)
    return result


def test_dry_run_then_real_run_through_airflow(boxes: Sandboxes, airflow_env: dict[str, str]) -> None:
    dry = run_dag(airflow_env, {"dry_run": True})
    assert "DAGRUN-STATE success" in dry.stdout, dry.stdout[-3000:] + dry.stderr[-3000:]
    assert boxes.qbo_rows("Invoice") == []

    real = run_dag(airflow_env, {})
    assert "DAGRUN-STATE success" in real.stdout, real.stdout[-3000:] + real.stderr[-3000:]
    invoices = boxes.invoiced_all("/invoices")
    eligible = [i for i in invoices if not i["draft"] and i["status"] != "voided"]
    assert len(boxes.qbo_rows("Invoice")) == len(eligible)

    store = StateStore(f"sqlite:///{Path(airflow_env['AIRFLOW_HOME']) / 'accounting_sync.db'}")
    runs = store.recent_runs("default")
    assert [r.state for r in runs[:2]] == ["success", "success"] and runs[0].counts["invoice"]["created"] == len(eligible)


def test_a_failed_record_fails_the_run_with_its_number_in_the_log(
    boxes: Sandboxes, airflow_env: dict[str, str]
) -> None:
    customer = boxes.invoiced_all("/customers")[0]
    created = requests.post(
        f"{boxes.invoiced_url}/invoices",
        json={"customer": customer["id"], "number": "CLOSED-PERIOD-1", "date": 946728000,
              "items": [{"name": "Old work", "quantity": 1, "unit_cost": 10}]},
        auth=(boxes.invoiced_info["api_key"], ""),
        timeout=10,
    )
    created.raise_for_status()
    requests.post(f"{boxes.qbo_url}/_sandbox/close-books", json={"date": "2001-01-01"}, timeout=10).raise_for_status()
    try:
        result = run_dag(airflow_env, {})
    finally:
        requests.post(f"{boxes.qbo_url}/_sandbox/close-books", json={"date": None}, timeout=10).raise_for_status()
    output = result.stdout + result.stderr
    assert "DAGRUN-STATE failed" in output, output[-3000:]
    assert "CLOSED-PERIOD-1" in output and "6210" in output


def test_no_secret_reaches_task_logs_xcom_or_the_state_store(boxes: Sandboxes, airflow_env: dict[str, str]) -> None:
    """After real runs: the client secret, the API key and the current tokens appear
    nowhere in plain text: not in task logs, XCom (Airflow's DB) or the state store."""
    from accounting_sync.quickbooks.oauth import fernet

    home = Path(airflow_env["AIRFLOW_HOME"])
    token = StateStore(f"sqlite:///{home / 'accounting_sync.db'}").read_token("default")
    assert token is not None and token.access_token_enc and token.refresh_token_enc
    crypto = fernet()
    secrets = {
        "client secret": boxes.qbo_info["client_secret"],
        "API key": boxes.invoiced_info["api_key"],
        "access token": crypto.decrypt(token.access_token_enc.encode()).decode(),
        "refresh token": crypto.decrypt(token.refresh_token_enc.encode()).decode(),
    }
    assert any("Run summary" in output for output in OUTPUTS), "the task logs of the runs were not captured"
    haystacks = {f"task log of run {n}": output.encode() for n, output in enumerate(OUTPUTS)}
    for path in (home / "logs").rglob("*"):
        if path.is_file():
            haystacks[str(path.relative_to(home))] = path.read_bytes()
    for database in home.glob("*.db*"):  # Airflow's DB (XCom) and the state store, with WAL files
        haystacks[database.name] = database.read_bytes()
    assert {"airflow.db", "accounting_sync.db"} <= set(haystacks)
    for name, secret in secrets.items():
        for where, content in haystacks.items():
            assert secret.encode() not in content, f"the {name} appears in {where}"


def test_a_company_connected_to_another_quickbooks_company_is_held_without_retries(
    boxes: Sandboxes, airflow_env: dict[str, str]
) -> None:
    store = StateStore(f"sqlite:///{Path(airflow_env['AIRFLOW_HOME']) / 'accounting_sync.db'}")
    binding.resolve(store, "default", boxes.realm_id, InvoicedClient(boxes.invoiced_config()))  # bound already
    other = requests.post(f"{boxes.qbo_url}/_sandbox/realms", json={}, timeout=10).json()["realm_id"]
    boxes.connect(store, realm_id=other)
    try:
        result = run_dag(airflow_env, {})
    finally:
        boxes.connect(store)
    output = result.stdout + result.stderr
    assert "DAGRUN-STATE failed" in output, output[-3000:]
    assert f"QuickBooks is connected to company {other}" in output
    assert boxes.qbo_rows("Invoice", realm=other) == []
    # Failed at once: retrying cannot help (with retries the message is logged twice as
    # often). load says it, and tie_out, which compares nothing for a held state, once.
    assert output.count(f"QuickBooks is connected to company {other}") <= 3
