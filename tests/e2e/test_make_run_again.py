"""`make run`, stop, `make run` again: the sandboxes come back as new demo companies (a new
realm, a new Invoiced account) while the Airflow home and its state store stay. The second
sync must sync the new pair exactly, not believe the old pair's records are written.

Runs what `make run` runs before `airflow standalone` (sandboxes on fixed ports with demo
data, the connections, `airflow db migrate`, the pools, `scripts/connect_sandbox.py`), then
the qbo_sync DAG with ``dag.test()``, twice in the same Airflow home.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from accounting_sync.common import binding
from accounting_sync.store.facade import StateStore
from tests.e2e.airflow_harness import (
    PYTHON,
    REPO,
    Airflow,
    airflow_env,
    dag_test,
    prepare,
    start_sandboxes,
    stop,
)
from tests.support.books import assert_books_match
from tests.support.sandboxes import Sandboxes
from tests.support.services import free_port


def make_run_once(home: Path, ports: tuple[int, int]) -> tuple[str, str]:
    """One `make run` session up to its first sync; returns the realm and the run's output."""
    qbo_port, invoiced_port = ports
    airflow = Airflow(
        url="",
        home=home,
        env=airflow_env(home, free_port()),
        qbo_url=f"http://127.0.0.1:{qbo_port}",
        invoiced_url=f"http://127.0.0.1:{invoiced_port}",
    )
    airflow.env["AIRFLOW__CORE__FERNET_KEY"] = (home / "fernet.key").read_text()  # kept beside the home
    try:
        airflow.env.update(start_sandboxes(airflow, qbo_port, invoiced_port))
        prepare(airflow.env)
        subprocess.run(
            [PYTHON, str(REPO / "scripts" / "connect_sandbox.py"), "default"], env=airflow.env, check=True
        )
        run = dag_test(airflow.env, {})
        output = run.stdout + run.stderr
        assert "DAGRUN-STATE success" in run.stdout, output[-4000:]
        boxes = Sandboxes.started(airflow.qbo_url, airflow.invoiced_url)
        assert_books_match(boxes, boxes.realm_id)
        return boxes.realm_id, output
    finally:
        stop(airflow.processes)


def test_a_second_make_run_syncs_its_new_demo_companies(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    home = tmp_path / "airflow-home"
    home.mkdir()
    (home / "fernet.key").write_text(Fernet.generate_key().decode())
    ports = (free_port(), free_port())

    first_realm, _ = make_run_once(home, ports)
    second_realm, output = make_run_once(home, ports)

    assert second_realm != first_realm
    assert "unchanged" not in output.split("Run summary:", 1)[1].splitlines()[0]
    store = StateStore(f"sqlite:///{home / 'accounting_sync.db'}")
    current = binding.status(store, "default")
    assert current.active is not None and current.active.realm_id == second_realm
    assert [b.realm_id for b in current.earlier] == [first_realm]  # kept, not deleted
