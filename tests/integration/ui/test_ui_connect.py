"""Connect and disconnect QuickBooks from the Connection page, against the QBO sandbox."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow.api_fastapi.core_api.security import get_user
from fastapi import FastAPI
from ui_support import Browser, connect, consent, flash, follow_back, start_connect

from accounting_sync.common.values import utcnow
from accounting_sync.quickbooks.hook import QuickBooksHook
from accounting_sync.quickbooks.oauth import (
    RECONNECT_MESSAGE,
    QuickBooksConnectionExpired,
    TokenManager,
    fernet,
)
from accounting_sync.store.facade import StateStore
from accounting_sync.ui import oauth
from accounting_sync.ui.security import seal, unseal
from sandbox.quickbooks.tokens import s256

PAGE = "/accounting-sync/"


def test_connect_round_trip_through_the_sandbox(
    browser: Browser, qbo: dict[str, Any], store: StateStore
) -> None:
    authorize_url = start_connect(browser)
    query = parse_qs(urlsplit(authorize_url).query)
    assert authorize_url.startswith(f"{qbo['url']}/connect/oauth2?")
    assert query["scope"] == ["com.intuit.quickbooks.accounting"]
    assert query["redirect_uri"] == ["http://testserver/accounting-sync/callback"]
    assert query["client_id"] == [qbo["client_id"]] and query["state"][0]

    back = follow_back(browser, consent(authorize_url))

    assert back.status_code == 303
    assert back.headers["location"] == "/plugin/accounting-sync/accounting-sync/?company=default"
    page = browser.get(PAGE)
    assert flash(page) == "ok: Connected to QuickBooks company Sandbox Company US."
    assert '<strong id="qbo-company">Sandbox Company US</strong>' in page.text
    row = store.read_token("default")
    assert row is not None and row.status == "connected" and row.realm_id == qbo["realm_id"]
    assert browser.get(PAGE).text.count("Sandbox Company US") == 1  # the message is shown once


def test_secrets_never_leave_the_server(browser: Browser, qbo: dict[str, Any], store: StateStore) -> None:
    callback_url = consent(start_connect(browser))
    follow_back(browser, callback_url)
    browser.get(PAGE)
    browser.get("/accounting-sync/configure")
    code = parse_qs(urlsplit(callback_url).query)["code"][0]
    row = store.read_token("default")
    assert row is not None and row.access_token_enc and row.refresh_token_enc
    tokens = [
        fernet().decrypt(value.encode()).decode() for value in (row.access_token_enc, row.refresh_token_enc)
    ]

    seen = browser.seen()

    assert not [secret for secret in (qbo["client_secret"], code, *tokens) if secret in seen]


def test_redirect_uri_comes_from_the_connection_when_set(
    browser: Browser, qbo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = qbo["connection"]
    connection["extra"]["redirect_uri"] = "https://airflow.example.com/accounting-sync/callback"
    monkeypatch.setenv("AIRFLOW_CONN_QUICKBOOKS_DEFAULT", json.dumps(connection))

    authorize_url = start_connect(browser)

    assert parse_qs(urlsplit(authorize_url).query)["redirect_uri"] == [
        "https://airflow.example.com/accounting-sync/callback"
    ]


def test_denied_authorization_explains_and_offers_reconnect(browser: Browser, store: StateStore) -> None:
    back = follow_back(browser, consent(start_connect(browser), decision="deny"))

    assert back.status_code == 400
    assert "Access to QuickBooks was denied" in back.text
    assert ">Reconnect</button>" in back.text
    assert store.read_token("default") is None or store.read_token("default").status != "connected"


def test_a_wrong_state_is_refused_and_connects_nothing(browser: Browser, store: StateStore) -> None:
    callback_url = consent(start_connect(browser))
    forged = callback_url.replace("state=", "state=forged")

    back = follow_back(browser, forged)

    assert back.status_code == 400
    assert "state mismatch" in back.text and ">Reconnect</button>" in back.text
    assert store.read_token("default") is None or store.read_token("default").status != "connected"


def test_a_callback_without_the_browsers_state_cookie_is_refused(
    browser: Browser, sign_in: Any, store: StateStore
) -> None:
    callback_url = consent(start_connect(browser))
    other_browser = sign_in("op")  # same user, but not the browser that started

    back = follow_back(other_browser, callback_url)

    assert back.status_code == 400
    assert "could not be matched to this browser" in back.text
    assert store.read_token("default") is None or store.read_token("default").status != "connected"


def test_a_callback_for_another_user_is_refused(browser: Browser, ui_app: FastAPI, store: StateStore) -> None:
    callback_url = consent(start_connect(browser))
    ui_app.dependency_overrides[get_user] = lambda: SimpleAuthManagerUser(username="mallory", role="admin")

    back = follow_back(browser, callback_url)

    assert back.status_code == 400
    assert store.read_token("default") is None or store.read_token("default").status != "connected"


def test_a_repeated_callback_does_not_exchange_the_code_again_and_the_connection_stands(
    browser: Browser, qbo: dict[str, Any], store: StateStore
) -> None:
    """Intuit revokes the tokens of a code exchanged twice (the sandbox does too), so a
    double click or a reload of the callback would silently disconnect the company."""
    callback_url = consent(start_connect(browser))
    state_cookie = browser.client.cookies.get(oauth.STATE_COOKIE)
    follow_back(browser, callback_url)
    browser.client.cookies.set(oauth.STATE_COOKIE, state_cookie)  # the second request still carries it

    again = follow_back(browser, callback_url)

    assert again.status_code == 303
    assert "already used" in flash(browser.get(PAGE))
    manager = TokenManager(store, "default", QuickBooksHook().config())
    token = manager.access_token().value
    info = requests.get(f"{qbo['url']}/v3/company/{qbo['realm_id']}/companyinfo/{qbo['realm_id']}",
                        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}, timeout=10)
    assert info.status_code == 200, info.text


def test_the_authorization_carries_a_pkce_challenge_whose_verifier_only_the_sealed_cookie_holds(
    browser: Browser,
) -> None:
    query = parse_qs(urlsplit(start_connect(browser)).query)
    pending = unseal("oauth", browser.client.cookies.get(oauth.STATE_COOKIE), oauth.STATE_MAX_AGE)
    assert pending is not None and len(pending["v"]) >= 43
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"] == [s256(pending["v"])]
    assert pending["v"] not in browser.seen()


def test_a_callback_for_a_company_no_longer_configured_is_refused(browser: Browser, store: StateStore) -> None:
    callback_url = consent(start_connect(browser))
    pending = unseal("oauth", browser.client.cookies.get(oauth.STATE_COOKIE), oauth.STATE_MAX_AGE)
    assert pending is not None
    browser.client.cookies.set(oauth.STATE_COOKIE, seal("oauth", {**pending, "c": "gone"}))

    back = follow_back(browser, callback_url)

    assert back.status_code == 400 and "no longer configured" in back.text
    assert store.read_token("default") is None or store.read_token("default").status != "connected"


@pytest.mark.parametrize(("pattern", "forged", "message"), [
    (r"realmId=\d+", "realmId=12%2F..%2F34", "not a number"),
    (r"state=[^&]+", "state=%C3%A9t%C3%A9", "state mismatch"),  # non-ASCII: refused, not a server error
], ids=["realm-not-digits", "non-ascii-state"])
def test_a_forged_callback_parameter_is_refused(
    browser: Browser, store: StateStore, pattern: str, forged: str, message: str
) -> None:
    callback_url = re.sub(pattern, forged, consent(start_connect(browser)))

    back = follow_back(browser, callback_url)

    assert back.status_code == 400 and message in back.text
    assert store.read_token("default") is None or store.read_token("default").status != "connected"


def test_disconnect_revokes_the_token_at_intuit(
    browser: Browser, qbo: dict[str, Any], store: StateStore
) -> None:
    connect(browser)
    row = store.read_token("default")
    assert row is not None and row.refresh_token_enc
    refresh = fernet().decrypt(row.refresh_token_enc.encode()).decode()

    response = browser.post("/accounting-sync/disconnect?company=default")

    assert response.status_code == 303
    page = browser.get(PAGE)
    assert "Disconnected from QuickBooks" in flash(page)
    assert "Not connected" in page.text and "Connect to QuickBooks</button>" in page.text
    assert store.read_token("default").status == "disconnected"
    answer = requests.post(
        f"{qbo['url']}/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": refresh},
        auth=(qbo["client_id"], qbo["client_secret"]),
        timeout=10,
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_invalid_grant_later_shows_reconnect(
    browser: Browser, qbo: dict[str, Any], store: StateStore
) -> None:
    """The refresh token dies at Intuit; the next task that refreshes marks the connection
    expired, and the page says so with the way out."""
    connect(browser)
    with store.locked_token("default") as row:
        refresh = fernet().decrypt(row.refresh_token_enc.encode()).decode()
        row.access_expires_at = utcnow() - timedelta(minutes=1)
    requests.post(
        f"{qbo['url']}/oauth2/v1/tokens/revoke",
        json={"token": refresh},
        auth=(qbo["client_id"], qbo["client_secret"]),
        timeout=10,
    ).raise_for_status()
    tasks_view = TokenManager(
        store, "default", QuickBooksHook().config()
    )
    with pytest.raises(QuickBooksConnectionExpired):
        tasks_view.access_token()

    page = browser.get(PAGE)

    assert RECONNECT_MESSAGE in page.text
    assert ">Reconnect</button>" in page.text
    assert store.read_token("default").status == "expired"


def test_missing_connection_is_explained(browser: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_QUICKBOOKS_DEFAULT")

    page = browser.get(PAGE)
    response = browser.post("/accounting-sync/connect?company=default", page="/accounting-sync/configure")

    assert "Airflow connection &#39;quickbooks_default&#39; is not defined" in page.text
    assert "Connect to QuickBooks</button>" not in page.text
    assert response.status_code == 303
    assert "is not defined" in flash(browser.get(PAGE))


def test_an_invalid_extra_is_named_on_the_page(
    browser: Browser, qbo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = qbo["connection"]
    connection["extra"]["environment"] = "prod"
    monkeypatch.setenv("AIRFLOW_CONN_QUICKBOOKS_DEFAULT", json.dumps(connection))

    page = browser.get(PAGE)
    response = browser.post("/accounting-sync/connect?company=default", page="/accounting-sync/configure")

    assert "Connection &#39;quickbooks_default&#39; is invalid: extra field &#39;environment&#39;" in page.text
    assert "Connect to QuickBooks</button>" not in page.text
    assert response.status_code == 303
