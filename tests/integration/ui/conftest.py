"""Fixtures for the Accounting Sync UI: the app mounted the way Airflow mounts it, a QBO
sandbox behind the company's Airflow connection, a state store of its own, and users.

Tests about pages and actions sign a user in by overriding Airflow's ``get_user`` only;
authorization (the auth manager's rules) and CSRF stay real. ``test_ui_auth.py`` uses
real JWTs and overrides nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from airflow.api_fastapi.app import init_auth_manager
from airflow.api_fastapi.auth.managers.base_auth_manager import BaseAuthManager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow.api_fastapi.core_api.security import get_user
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from ui_support import Browser, FakeAirflow, mounted

from accounting_sync.quickbooks.hook import QuickBooksHook
from accounting_sync.quickbooks.oauth import TokenManager
from accounting_sync.store.facade import StateStore
from accounting_sync.ui import app as ui
from accounting_sync.ui import qbo as qbo_reads
from accounting_sync.ui.airflow_api import AirflowApi
from accounting_sync.ui.security import airflow_token
from sandbox.common.serve import running_server
from sandbox.quickbooks.app import create_app as create_quickbooks
from sandbox.quickbooks.config import SandboxConfig


@pytest.fixture(scope="session")
def auth_manager() -> BaseAuthManager:
    return init_auth_manager()


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Airflow's metadata DB: token validation checks it for revoked tokens."""
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], env=os.environ.copy(), check=True, capture_output=True)


@pytest.fixture(scope="session")
def qbo_server() -> Iterator[tuple[str, dict[str, Any]]]:
    with running_server(create_quickbooks(SandboxConfig())) as base_url:
        yield base_url, requests.get(f"{base_url}/_sandbox/info", timeout=10).json()


@pytest.fixture
def qbo(qbo_server: tuple[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A fresh sandbox company behind ``quickbooks_default``, as `make run` configures it."""
    base_url, info = qbo_server
    requests.post(f"{base_url}/_sandbox/reset", timeout=10).raise_for_status()
    for cache in (qbo_reads._names, qbo_reads._choices):  # what the pages remember of the old company
        cache.clear()
    connection = {
        "conn_type": "quickbooks",
        "host": base_url,
        "login": info["client_id"],
        "password": info["client_secret"],
        "extra": {
            "environment": "local",
            "authorize_url": f"{base_url}/connect/oauth2",
            "token_url": f"{base_url}/oauth2/v1/tokens/bearer",
            "revoke_url": f"{base_url}/oauth2/v1/tokens/revoke",
            "timeout": 10,
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_QUICKBOOKS_DEFAULT", json.dumps(connection))
    return {"url": base_url, "connection": connection, **info}


@pytest.fixture
def connected(qbo: dict[str, Any], store: StateStore) -> dict[str, Any]:
    """The default company already connected (the sandbox hands out a token directly)."""
    token = requests.post(f"{qbo['url']}/_sandbox/token", json={}, timeout=10).json()
    config = QuickBooksHook().config()
    TokenManager(store, "default", config).save(token, token["realm_id"])
    return qbo


@pytest.fixture
def fake_airflow() -> FakeAirflow:
    return FakeAirflow()


@pytest.fixture
def ui_app(store: StateStore, fake_airflow: FakeAirflow, auth_manager: BaseAuthManager) -> FastAPI:
    """The plugin app with the test's store and a stand-in for Airflow's REST API."""
    app = ui.create_app()
    airflow_client = TestClient(fake_airflow.app(), base_url="http://airflow")

    def fake_api(request: Request) -> AirflowApi:
        return AirflowApi(airflow_client, airflow_token(request))

    app.dependency_overrides[ui.get_store] = lambda: store
    app.dependency_overrides[ui.get_airflow_api] = fake_api
    return app


@pytest.fixture
def sign_in(ui_app: FastAPI) -> Callable[[str, str], Browser]:
    """``sign_in(role)`` -> a browser signed in as a simple-auth-manager user of that role."""

    def browser(role: str = "op", username: str = "olivia") -> Browser:
        ui_app.dependency_overrides[get_user] = lambda: SimpleAuthManagerUser(username=username, role=role)
        return Browser(mounted(ui_app))

    return browser


@pytest.fixture
def browser(sign_in: Callable[..., Browser], qbo: dict[str, Any]) -> Browser:
    return sign_in("op")
