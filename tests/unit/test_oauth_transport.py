"""Plain HTTP for OAuth is a property of a local connection, never of the process:
``OAUTHLIB_INSECURE_TRANSPORT`` stays unset and a real connection gets HTTPS or nothing,
even while another thread talks to a local stand-in."""

from __future__ import annotations

import os
import threading
from dataclasses import replace

import pytest
from oauthlib.oauth2 import InsecureTransportError
from requests_oauthlib import OAuth2Session

from accounting_sync.config.connections import QuickBooksConfig
from accounting_sync.quickbooks.transport import oauth_calls
from accounting_sync.ui import oauth

LOCAL = QuickBooksConfig(
    api_base="http://127.0.0.1:8100",
    client_id="app",
    client_secret="secret",
    authorize_url="http://127.0.0.1:8100/connect/oauth2",
    token_url="http://127.0.0.1:8100/oauth2/v1/tokens/bearer",
    environment="local",
)
# What a production connection would be if its URLs were not checked: plain HTTP on loopback.
PRODUCTION_OVER_HTTP = replace(LOCAL, environment="production")


@pytest.fixture(autouse=True)
def no_process_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)


def test_a_local_connection_may_use_plain_http_without_the_process_switch() -> None:
    url, _, _ = oauth.authorization_url(LOCAL, "http://localhost:8080/accounting-sync/callback")

    assert url.startswith("http://127.0.0.1:8100/connect/oauth2?response_type=code")
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ


def test_a_production_connection_gets_https_or_nothing_even_on_loopback() -> None:
    with pytest.raises(InsecureTransportError):
        oauth.authorization_url(PRODUCTION_OVER_HTTP, "http://localhost:8080/accounting-sync/callback")
    with pytest.raises(oauth.AuthorizationFailed, match="insecure_transport"):
        oauth.exchange_code(PRODUCTION_OVER_HTTP, "http://localhost:8080/cb", "code", "verifier")


def test_outside_a_local_call_oauthlib_refuses_plain_http_as_before() -> None:
    with oauth_calls(LOCAL):
        pass

    with pytest.raises(InsecureTransportError):
        OAuth2Session("app").fetch_token("http://127.0.0.1:8100/token", code="c", client_secret="s")


def test_a_local_call_in_one_thread_lifts_nothing_in_another() -> None:
    inside, checked = threading.Event(), threading.Event()
    outcome: list[BaseException | None] = []

    def local_call() -> None:
        with oauth_calls(LOCAL):
            inside.set()
            checked.wait(timeout=30)

    def production_call() -> None:
        inside.wait(timeout=30)
        try:
            oauth.authorization_url(PRODUCTION_OVER_HTTP, "http://localhost:8080/cb")
            outcome.append(None)
        except InsecureTransportError as refused:
            outcome.append(refused)
        finally:
            checked.set()

    threads = [threading.Thread(target=local_call), threading.Thread(target=production_call)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(outcome) == 1 and isinstance(outcome[0], InsecureTransportError)
