"""Fixtures for the QBO sandbox tests: one shared server, reset before every test, plus
throw-away servers for tests that need other lifetimes or timings."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from qbo_support import REDIRECT, Qbo, ServerFactory, browser_consent
from quickbooks import QuickBooks

from sandbox.common.serve import running_server
from sandbox.quickbooks.app import create_app
from sandbox.quickbooks.config import SandboxConfig
from sandbox.quickbooks.state import SandboxState


def _connect(base_url: str, state: SandboxState, realm_id: str | None = None) -> Qbo:
    token = requests.post(f"{base_url}/_sandbox/token", json={"realm_id": realm_id}, timeout=10).json()
    return Qbo(base_url, token["realm_id"], token["access_token"], token["refresh_token"], state)


@pytest.fixture(scope="session")
def qbo_server() -> Iterator[tuple[str, SandboxState]]:
    """Refresh tokens rotate on every refresh here, so rotation is testable without waiting a day."""
    app = create_app(SandboxConfig(refresh_rotation_interval=0))
    with running_server(app) as base_url:
        yield base_url, app.state.sandbox


@pytest.fixture
def qbo(qbo_server: tuple[str, SandboxState]) -> Qbo:
    base_url, state = qbo_server
    requests.post(f"{base_url}/_sandbox/reset", timeout=10).raise_for_status()
    requests.post(f"{base_url}/_sandbox/stats/reset", timeout=10).raise_for_status()
    return _connect(base_url, state)


@pytest.fixture
def seeded(qbo: Qbo) -> Qbo:
    qbo.control("seed")
    return qbo


@pytest.fixture
def start_server() -> Iterator[ServerFactory]:
    """`start_server(access_token_ttl=0.3)` -> (base_url, state) of a dedicated server."""
    with contextlib.ExitStack() as stack:

        def start(**config: Any) -> tuple[str, SandboxState]:
            app = create_app(SandboxConfig(**config))
            return stack.enter_context(running_server(app)), app.state.sandbox

        yield start


@pytest.fixture
def connect() -> Callable[..., Qbo]:
    return _connect


@pytest.fixture
def client(qbo: Qbo, monkeypatch: pytest.MonkeyPatch) -> QuickBooks:
    """python-quickbooks connected through the real OAuth flow, as an outside judge."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    config = qbo.state.config
    auth = AuthClient(config.client_id, config.client_secret, REDIRECT,
                      environment=f"{qbo.base_url}/.well-known/openid_configuration")
    callback = browser_consent(auth.get_authorization_url([Scopes.ACCOUNTING]))
    auth.get_bearer_token(callback["code"], realm_id=callback["realmId"])
    quickbooks = QuickBooks(auth_client=auth, refresh_token=auth.refresh_token, company_id=auth.realm_id,
                            minorversion=75)
    quickbooks.api_url_v3 = f"{qbo.base_url}/v3"
    return quickbooks
