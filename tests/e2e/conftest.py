"""Fixtures of the end-to-end tests: both sandboxes over HTTP (one pair per module), a
SQLite state store per test, the demo books seeded and connected, an Airflow home for
``dag.test()`` runs, and the import pipelines (``tests/e2e/import_harness.py``)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from accounting_sync.store.facade import StateStore
from sandbox.invoiced.config import InvoicedConfig as InvoicedSandboxConfig
from tests.e2e.airflow_harness import AIRFLOW, REPO
from tests.e2e.import_harness import Pipelines, fresh_pipelines
from tests.support.plugins import plugins_folder
from tests.support.sandboxes import Sandboxes, sandboxes


@pytest.fixture(scope="module")
def boxes() -> Iterator[Sandboxes]:
    """Both sandboxes with their defaults, shared by the tests of one module."""
    with sandboxes() as started:
        yield started


@pytest.fixture(scope="session")
def import_boxes() -> Iterator[Sandboxes]:
    """The sandboxes of the import tests, shared by the whole session."""
    with sandboxes() as started:
        yield started


@pytest.fixture
def pipelines(import_boxes: Sandboxes, tmp_path: Path) -> Pipelines:
    """The QBO demo company, an empty Invoiced account and state store, connected."""
    return fresh_pipelines(import_boxes, tmp_path)


@pytest.fixture(scope="module")
def switched_boxes(request: pytest.FixtureRequest) -> Iterator[Sandboxes]:
    """Both sandboxes with Invoiced switches set: parametrize it indirectly with the
    ``InvoicedConfig`` fields, so a module runs once per reading of the service."""
    with sandboxes(invoiced_config=InvoicedSandboxConfig(**request.param)) as started:
        yield started


@pytest.fixture
def pipes(switched_boxes: Sandboxes, tmp_path: Path) -> Pipelines:
    """Like ``pipelines``, against the switched sandboxes."""
    return fresh_pipelines(switched_boxes, tmp_path)


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


@pytest.fixture
def seeded(boxes: Sandboxes, store: StateStore) -> Sandboxes:
    """The demo books on Invoiced, an empty QBO company connected, no faults, counters at zero."""
    boxes.reset(seed_invoiced=True)
    boxes.faults("qbo", probability=0, kinds=[])
    boxes.faults("invoiced", probability=0, kinds=[])
    boxes.connect(store)
    boxes.reset_stats()
    return boxes


@pytest.fixture(scope="module")
def airflow_env(boxes: Sandboxes, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An Airflow home for ``dag.test()`` runs of a module: this repository's DAGs, both
    connections on the sandboxes (demo books on Invoiced), the pool, the company connected."""
    boxes.reset(seed_invoiced=True)
    home = tmp_path_factory.mktemp("airflow-home")
    config = boxes.qbo_config()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_folder(home)),
        "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)]),
        "AIRFLOW_CONN_QUICKBOOKS_DEFAULT": json.dumps(
            {
                "conn_type": "quickbooks",
                "host": config.api_base,
                "login": config.client_id,
                "password": config.client_secret,
                "extra": {"environment": "local", "token_url": config.token_url, "revoke_url": config.revoke_url},
            }
        ),
        "AIRFLOW_CONN_INVOICED_DEFAULT": json.dumps(
            {"conn_type": "invoiced", "host": boxes.invoiced_url, "password": boxes.invoiced_info["api_key"]}
        ),
    }
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([AIRFLOW, "pools", "set", "quickbooks_api", "1", "QBO"], env=env, check=True, capture_output=True)
    boxes.connect(StateStore(f"sqlite:///{home / 'accounting_sync.db'}"))
    return env
