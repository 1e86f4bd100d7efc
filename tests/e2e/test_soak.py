"""Soak: sync while both sandboxes misbehave and the load task is killed mid-run.

Both sandboxes inject 10 % faults of every kind (429, 500, 503, slow answers past the
client timeout, commit-then-drop, QBO's 6000 and 5010). The pipeline steps run as
separate processes, as Airflow tasks do; the first load is killed with SIGKILL while it
writes. Runs repeat until one is green. Then QBO must hold exactly one invoice per
eligible Invoiced invoice, one payment per payment, and every balance must equal
Invoiced's to the cent. Afterwards no secret may appear in any log or state-store column.

`make test` runs a small account; `make soak` (SOAK_SCALE=full) runs 2,000 invoices and
1,500 payments.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from decimal import Decimal
from typing import Any

import pytest
import requests

from accounting_sync.store.facade import StateStore
from bench import dataset
from bench.harness import REPO, Stack, run_step, stack, step_command, step_env

FULL = os.environ.get("SOAK_SCALE") == "full"
SIZES = (
    {"customers": 300, "items": 60, "invoices": 2000, "payments": 1500, "bad_debts": 40}
    if FULL
    else {"customers": 40, "items": 15, "invoices": 150, "payments": 110, "bad_debts": 6}
)
QBO_FAULTS = ["429", "500", "503", "slow", "drop", "6000", "5010"]
INVOICED_FAULTS = ["429", "500", "503", "slow", "drop"]
MAX_RUNS = 8


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def set_faults(boxes: Stack, probability: float) -> None:
    for url, kinds in ((boxes.qbo_url, QBO_FAULTS), (boxes.invoiced_url, INVOICED_FAULTS)):
        body = {"probability": probability, "kinds": kinds if probability else [], "seed": 2026, "slow_seconds": 3}
        requests.post(f"{url}/_sandbox/faults", json=body, timeout=10).raise_for_status()


def batches_written(boxes: Stack) -> int:
    stats = boxes.qbo_stats()
    return sum(r["count"] for r in stats["requests"] if r["path"].endswith("/batch") and r["status"] == 200)


def killed_load(boxes: Stack, config: dict[str, Any]) -> str:
    """Start the load step and SIGKILL it once it has written a few batches."""
    config_file = boxes.workdir / "load-config.json"
    config_file.write_text(json.dumps(config))
    with config_file.open() as stdin:
        proc = subprocess.Popen(step_command("load"), stdin=stdin, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=step_env(), cwd=REPO, text=True)
    start = batches_written(boxes)
    deadline = time.monotonic() + 120
    while batches_written(boxes) < start + 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    _, stderr = proc.communicate(timeout=30)
    return f"killed with exit code {proc.returncode}\n{stderr}"


def qbo_rows(boxes: Stack, entity: str) -> list[dict[str, Any]]:
    token = requests.post(f"{boxes.qbo_url}/_sandbox/token", json={}, timeout=10).json()
    rows: list[dict[str, Any]] = []
    start = 1
    while True:
        response = requests.get(
            f"{boxes.qbo_url}/v3/company/{token['realm_id']}/query",
            params={"query": f"SELECT * FROM {entity} STARTPOSITION {start} MAXRESULTS 1000"},
            headers={"Authorization": f"Bearer {token['access_token']}", "Accept": "application/json"},
            timeout=60,
        )
        response.raise_for_status()
        page = response.json()["QueryResponse"].get(entity, [])
        rows += page
        if len(page) < 1000:
            return rows
        start += 1000


def invoiced_rows(boxes: Stack, path: str, include: str) -> list[dict[str, Any]]:
    key = requests.get(f"{boxes.invoiced_url}/_sandbox/info", timeout=10).json()["api_key"]
    rows: list[dict[str, Any]] = []
    url: str | None = f"{boxes.invoiced_url}{path}"
    params: dict[str, Any] | None = {"per_page": 100, "include": include}
    while url:
        response = requests.get(url, params=params, auth=(key, ""), timeout=60)
        response.raise_for_status()
        rows += response.json()
        url, params = response.links.get("next", {}).get("url"), None
    return rows


@pytest.mark.slow
def test_soak_with_faults_and_a_killed_load_leaves_qbo_exact() -> None:
    with stack() as boxes:
        dataset.load(boxes.invoiced_url, **SIZES, chunk=1000)
        scaled = {"requests_per_window": 500, "batch_per_window": 40, "concurrent": 10, "window_seconds": 1}
        requests.post(f"{boxes.qbo_url}/_sandbox/limits", json=scaled, timeout=10).raise_for_status()
        config = boxes.job_config("soak-0", window_seconds=1.0, timeout=2)
        run_step("connect", config)
        set_faults(boxes, 0.10)
        logs: list[str] = []
        green = False
        for attempt in range(MAX_RUNS):
            config["run_id"] = f"soak-{attempt}"
            try:
                for step in ("extract", "transform"):
                    logs.append(run_step(step, config)["log"])
                if attempt == 0:
                    logs.append(killed_load(boxes, config))
                    continue
                logs.append(run_step("load", config)["log"])
                report = run_step("report", config)
                logs.append(report["log"])
            except RuntimeError as failed:  # a step that died of faults is retried, as Airflow would
                logs.append(str(failed))
                continue
            if isinstance(report["result"], str):
                green = True
                break
        set_faults(boxes, 0.0)
        assert any(log.startswith("killed with exit code -9") for log in logs), "the load was never killed mid-run"
        assert green, f"no green run in {MAX_RUNS} attempts:\n" + "\n".join(log[-1500:] for log in logs[-3:])

        invoices = invoiced_rows(boxes, "/invoices", "amount_written_off")
        payments = invoiced_rows(boxes, "/payments", "applied_to")
        eligible = {str(i["id"]): i for i in invoices if not i["draft"] and i["status"] != "voided"}
        qbo_invoices = qbo_rows(boxes, "Invoice")
        by_source: dict[str, list[dict[str, Any]]] = {}
        for row in qbo_invoices:
            found = re.search(r"Invoiced invoice (\d+)", row.get("PrivateNote", ""))
            if found:
                by_source.setdefault(found.group(1), []).append(row)
        cash = [p for p in payments if not p.get("voided") and any(s["type"] == "invoice" for s in p["applied_to"])]
        qbo_payments = [p for p in qbo_rows(boxes, "Payment") if money(p["TotalAmt"]) > 0]
        payment_notes = [p.get("PrivateNote", "") for p in qbo_payments]
        wrong_balances = [
            i["number"] for source, i in eligible.items()
            if len(by_source.get(source, [])) == 1
            and money(by_source[source][0]["Balance"])
            != (Decimal(0) if i["status"] == "bad_debt" or (i["closed"] and not i["paid"]) else money(i["balance"]))
        ]
        summary = {
            "runs": attempt + 1,
            "eligible_invoices": len(eligible),
            "qbo_invoices": len(qbo_invoices),
            "missing_invoices": len(set(eligible) - set(by_source)),
            "duplicated_invoices": sum(1 for rows in by_source.values() if len(rows) > 1),
            "invoiced_payments": len(cash),
            "qbo_payments": len(qbo_payments),
            "duplicated_payments": len(payment_notes) - len(set(payment_notes)),
            "wrong_balances": len(wrong_balances),
        }
        print("\nSOAK", json.dumps(summary))
        assert summary["missing_invoices"] == summary["duplicated_invoices"] == 0, summary
        assert summary["qbo_invoices"] == summary["eligible_invoices"], summary
        assert summary["qbo_payments"] == summary["invoiced_payments"] and summary["duplicated_payments"] == 0, summary
        assert wrong_balances == [], wrong_balances[:10]
        # The product's own check, after the faults and the kill: a full tie-out.
        books = run_step("tie_out", {**config, "run_id": "soak-tie-out", "full": True})["result"]
        print("SOAK TIE-OUT", books["summary"])
        assert books["summary"].startswith("Books match") and books["differences"] == 0, books

        secrets = secrets_in_play(boxes, config)
        store_dump = dump_store(config["store_url"])
        for name, secret in secrets.items():
            for index, log in enumerate(logs):
                assert secret not in log, f"{name} appears in step log {index}"
            assert secret not in store_dump, f"{name} appears in plain text in the state store"


def secrets_in_play(boxes: Stack, config: dict[str, Any]) -> dict[str, str]:
    """Every secret the run used, including the current tokens (decrypted to know them)."""
    from accounting_sync.quickbooks.oauth import fernet

    row = StateStore(config["store_url"]).read_token("default")
    assert row is not None and row.access_token_enc and row.refresh_token_enc
    crypto = fernet()
    return {
        "client secret": config["client_secret"],
        "API key": config["api_key"],
        "access token": crypto.decrypt(row.access_token_enc.encode()).decode(),
        "refresh token": crypto.decrypt(row.refresh_token_enc.encode()).decode(),
    }


def dump_store(url: str) -> str:
    """Every value of every table of the state store, as text."""
    from sqlalchemy import inspect, text

    store = StateStore(url)
    with store.engine.connect() as conn:
        tables = inspect(conn).get_table_names()
        return "\n".join(str(row) for table in tables for row in conn.execute(text(f'SELECT * FROM "{table}"')))
