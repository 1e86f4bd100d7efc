"""The Airflow plugin itself: what it registers, and its app as the API server mounts it."""

from __future__ import annotations

from typing import Any

from accounting_sync_plugin import AccountingSyncPlugin
from airflow.api_fastapi.auth.managers.base_auth_manager import BaseAuthManager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from fastapi import FastAPI
from fastapi.testclient import TestClient


def test_the_plugin_mounts_the_app_and_adds_a_nav_entry() -> None:
    (app,) = AccountingSyncPlugin.fastapi_apps
    (view,) = AccountingSyncPlugin.external_views

    assert (app["url_prefix"], app["name"]) == ("/accounting-sync", "Accounting Sync")
    assert view == {
        "name": "Accounting Sync",
        "href": "/accounting-sync/",
        "destination": "nav",
        "url_route": "accounting-sync",
        "nav_top_level": True,
    }


def test_the_registered_app_serves_signed_in_users_only(
    auth_manager: BaseAuthManager, airflow_db: None, qbo: dict[str, Any]
) -> None:
    """Exactly the object Airflow mounts, with nothing overridden."""
    root = FastAPI()
    root.mount("/accounting-sync", AccountingSyncPlugin.fastapi_apps[0]["app"])
    client = TestClient(root)
    token = auth_manager.generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))

    anonymous = client.get("/accounting-sync/")
    page = client.get("/accounting-sync/", headers={"Authorization": f"Bearer {token}"})

    assert anonymous.status_code == 401
    assert page.status_code == 200
    assert 'href="/accounting-sync/configure?company=default"' in page.text
    assert page.headers["content-security-policy"] == "frame-ancestors 'self'"
    assert page.headers["cache-control"] == "no-store"
