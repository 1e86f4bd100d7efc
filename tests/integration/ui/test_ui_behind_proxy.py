"""Behind a TLS-terminating proxy: requests reach the API server over plain HTTP with the
proxy's Host, so what the browser sees comes from Airflow's ``[api] base_url``."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from ui_support import Browser, mounted, start_connect

from accounting_sync.store.facade import StateStore

PUBLIC = "https://airflow.example.com"
SAVE = "/accounting-sync/configure"


@pytest.fixture
def proxied(ui_app: FastAPI, browser: Browser, monkeypatch: pytest.MonkeyPatch) -> Browser:
    """The signed-in browser, talking https to a proxy in front of the API server."""
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", PUBLIC + "/")
    return Browser(mounted(ui_app, behind=PUBLIC))


def test_the_redirect_uri_and_cookies_follow_the_public_https_address(proxied: Browser, qbo: dict[str, Any]) -> None:
    authorize_url = start_connect(proxied)

    assert parse_qs(urlsplit(authorize_url).query)["redirect_uri"] == [f"{PUBLIC}/accounting-sync/callback"]
    cookies = [c for r in proxied.responses for c in r.headers.get_list("set-cookie")]
    assert any(c.startswith("accounting_sync_oauth=") for c in cookies)
    assert all("secure" in c.lower() for c in cookies), cookies


@pytest.mark.parametrize(("origin", "allowed"), [
    (PUBLIC, True),
    ("http://airflow.example.com", False),  # the same host over plain HTTP
    ("https://airflow.example.com:8443", False),
    ("http://testserver", False),  # the Host the proxy forwards: not what the browser sees
])
def test_the_origin_check_compares_scheme_host_and_port_with_the_public_address(
    proxied: Browser, connected: dict[str, Any], store: StateStore, origin: str, allowed: bool
) -> None:
    response = proxied.post(SAVE, {"invoice_prefix": ""}, page=SAVE, headers={"Origin": origin})

    assert ("CSRF" not in response.text) is allowed, response.text[:300]
