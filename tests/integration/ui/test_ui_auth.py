"""Real Airflow authentication: nothing is overridden here. JWTs are issued by the simple
auth manager and checked by Airflow's own dependencies, as in the API server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from airflow.api_fastapi.auth.managers.base_auth_manager import BaseAuthManager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ui_support import mounted

from accounting_sync.store.facade import StateStore

GETS = [
    "/accounting-sync/",
    "/accounting-sync/configure",
    "/accounting-sync/syncs",
    "/accounting-sync/callback?code=c&state=s&realmId=1",
    "/accounting-sync/syncs/table",
]
POSTS = [
    "/accounting-sync/connect",
    "/accounting-sync/disconnect",
    "/accounting-sync/configure",
    "/accounting-sync/syncs/run",
    "/accounting-sync/syncs/auto",
]


@pytest.fixture
def client(ui_app: FastAPI, qbo: dict[str, Any]) -> TestClient:
    return mounted(ui_app)


def jwt(auth_manager: BaseAuthManager, role: str, username: str = "admin", **kwargs: Any) -> str:
    return auth_manager.generate_jwt(SimpleAuthManagerUser(username=username, role=role), **kwargs)


@pytest.mark.parametrize(("method", "path"), [("GET", p) for p in GETS] + [("POST", p) for p in POSTS])
def test_every_endpoint_refuses_anonymous_requests(
    client: TestClient, store: StateStore, method: str, path: str
) -> None:
    response = client.request(method, path, data={"flow": "sync"} if method == "POST" else None)

    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}
    assert store.read_token("default") is None and store.get_settings("default") == {}


@pytest.mark.parametrize("path", GETS)
def test_a_signed_out_browser_is_sent_to_airflows_login(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"Accept": "text/html"})

    assert response.status_code == 303
    assert response.headers["location"].startswith(
        "/auth/login?next=http%3A%2F%2Ftestserver%2Faccounting-sync%2F"
    )


def test_a_forged_token_is_refused(client: TestClient, airflow_db: None) -> None:
    forged = "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZG1pbiIsInJvbGUiOiJhZG1pbiJ9.c2lnbmF0dXJl"

    response = client.get("/accounting-sync/", headers={"Authorization": f"Bearer {forged}"})

    assert response.status_code == 403
    assert response.json() == {"detail": "Invalid JWT token"}


def test_an_expired_session_goes_back_to_login(
    client: TestClient, auth_manager: BaseAuthManager, airflow_db: None
) -> None:
    expired = jwt(auth_manager, "admin", expiration_time_in_seconds=-3600)
    client.cookies.set("_token", expired)

    response = client.get("/accounting-sync/", headers={"Accept": "text/html"})

    assert response.status_code == 303 and response.headers["location"].startswith("/auth/login")


@pytest.mark.parametrize("path", GETS[:3])
def test_the_airflow_ui_session_cookie_signs_in(
    client: TestClient, auth_manager: BaseAuthManager, airflow_db: None, path: str
) -> None:
    client.cookies.set("_token", jwt(auth_manager, "viewer", "vera"))

    response = client.get(path)

    assert response.status_code == 200 and "<h1>Accounting Sync</h1>" in response.text


def test_the_runs_table_signs_in_like_its_page(
    client: TestClient, auth_manager: BaseAuthManager, airflow_db: None
) -> None:
    """The page fetches its runs table with the same Airflow session cookie it was shown with."""
    client.cookies.set("_token", jwt(auth_manager, "viewer", "vera"))

    response = client.get("/accounting-sync/syncs/table")

    assert response.status_code == 200 and 'id="recent-syncs"' in response.text


def test_a_bearer_token_signs_in(client: TestClient, auth_manager: BaseAuthManager, airflow_db: None) -> None:
    response = client.get(
        "/accounting-sync/", headers={"Authorization": f"Bearer {jwt(auth_manager, 'admin')}"}
    )

    assert response.status_code == 200


def csrf(client: TestClient) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/accounting-sync/configure").text)
    assert match
    return match.group(1)


def test_a_viewer_cannot_change_settings(
    client: TestClient, auth_manager: BaseAuthManager, store: StateStore, airflow_db: None
) -> None:
    client.cookies.set("_token", jwt(auth_manager, "viewer", "vera"))

    response = client.post(
        "/accounting-sync/configure", data={"csrf_token": csrf(client), "duplicate_customer_names": "merge"}
    )

    assert response.status_code == 403 and "You may not change" in response.json()["detail"]
    assert store.get_settings("default") == {}


def test_an_admin_saves_with_the_csrf_token_and_not_without(
    client: TestClient, auth_manager: BaseAuthManager, store: StateStore, airflow_db: None
) -> None:
    client.cookies.set("_token", jwt(auth_manager, "admin"))
    form = {
        "income_account": "Invoiced Income",
        "discount_account": "Invoiced Discounts",
        "deposit_account": "Undeposited Funds",
        "bad_debt_account": "Bad Debts",
        "tax_code": "Invoiced Sales Tax",
        "bad_debt_item_name": "Bad Debt Write-off",
        "duplicate_customer_names": "merge",
    }

    refused = client.post("/accounting-sync/configure", data=form)
    saved = client.post("/accounting-sync/configure", data={**form, "csrf_token": csrf(client)})

    assert refused.status_code == 403
    assert saved.status_code == 303
    assert store.get_settings("default")["duplicate_customer_names"] == "merge"


WEBHOOKS = {"/webhooks/invoiced/{company_key}", "/webhooks/quickbooks"}
"""The only routes without Airflow auth: Invoiced and Intuit sign their bodies instead."""


def test_every_route_but_the_webhooks_needs_an_airflow_user(ui_app: FastAPI) -> None:
    from fastapi.routing import APIRoute

    from accounting_sync.ui.security import require_view

    routes = [route for route in ui_app.routes if isinstance(route, APIRoute)]
    guarded = {route.path for route in routes if any(d.call is require_view for d in route.dependant.dependencies)}
    assert {route.path for route in routes} - guarded == WEBHOOKS
    assert len(guarded) >= len(GETS) + len(POSTS) - 1  # /configure is both a GET and a POST


@pytest.mark.parametrize("path", ["/accounting-sync/webhooks/invoiced/default", "/accounting-sync/webhooks/quickbooks"])
def test_the_webhooks_answer_anonymous_callers_by_their_signature(client: TestClient, path: str) -> None:
    response = client.post(path, content=b"{}")

    assert response.status_code == 401
    assert response.json() == {"detail": "The webhook signature is missing or does not match."}
