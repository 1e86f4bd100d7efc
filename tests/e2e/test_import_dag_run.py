"""The qbo_import DAG itself, run by Airflow (``dag.test()``) against both sandboxes:
proves its wiring (params, pool, tasks, connections, state store) end to end."""

from __future__ import annotations

import subprocess

from tests.e2e.airflow_harness import dag_test
from tests.support.sandboxes import Sandboxes


def run_import_dag(env: dict[str, str], conf: dict[str, object]) -> subprocess.CompletedProcess[str]:
    return dag_test(env, conf, "qbo_import")


def test_a_full_reimport_through_airflow(boxes: Sandboxes, airflow_env: dict[str, str]) -> None:
    boxes.reset(seed_invoiced=False, seed_qbo=True)

    run = run_import_dag(airflow_env, {"full_reimport": True})

    assert "DAGRUN-STATE success" in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]
    assert len(boxes.invoiced_all("/invoices")) == 13  # the demo company's outstanding invoices
    assert len(boxes.invoiced_all("/customers")) == 10
