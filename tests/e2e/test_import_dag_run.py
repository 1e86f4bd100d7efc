"""The qbo_import DAG itself, run by Airflow (``dag.test()``) against both sandboxes:
proves its wiring (params, pool, tasks, connections, state store) end to end."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.e2e import test_dag_run
from tests.support.sandboxes import Sandboxes

# The Airflow home, connections, pool and sandboxes of the qbo_sync DAG run, shared.
boxes = test_dag_run.boxes
airflow_env = test_dag_run.airflow_env

RUN_IMPORT = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
dag = DagBag(dag_folder=sys.argv[1]).dags["qbo_import"]
run = dag.test(run_conf=json.loads(sys.argv[2]))
print("DAGRUN-STATE", run.state)
"""


def run_import_dag(env: dict[str, str], conf: dict[str, object]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUN_IMPORT, str(test_dag_run.REPO / "dags"), json.dumps(conf)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_full_reimport_through_airflow(boxes: Sandboxes, airflow_env: dict[str, str]) -> None:
    boxes.reset(seed_invoiced=False, seed_qbo=True)

    run = run_import_dag(airflow_env, {"full_reimport": True})

    assert "DAGRUN-STATE success" in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]
    assert len(boxes.invoiced_all("/invoices")) == 13  # the demo company's outstanding invoices
    assert len(boxes.invoiced_all("/customers")) == 10
