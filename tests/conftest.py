"""Fixtures shared by the whole suite.

Airflow reads its configuration at import, so the environment is set here, before any
test module imports it: a throw-away Airflow home, no examples, the repo's dags/plugins.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.support.plugins import plugins_folder

REPO = Path(__file__).resolve().parents[1]
_HOME = tempfile.mkdtemp(prefix="airflow-test-home-")
os.environ.update(
    {
        "AIRFLOW_HOME": _HOME,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_folder(Path(_HOME))),
        "ACCOUNTING_SYNC_FERNET_KEY": os.environ.get("ACCOUNTING_SYNC_FERNET_KEY") or Fernet.generate_key().decode(),
    }
)

from tests.support.services import postgres_server  # noqa: E402


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url
