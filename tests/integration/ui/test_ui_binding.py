"""Reconnecting to another QuickBooks company from the Connection page: the callback
notices it, the page says so and holds the sync, Configure refuses to save, and the
person chooses to start afresh or reconnect the original company."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from ui_support import Browser, connect, flash

from accounting_sync.common import binding
from accounting_sync.store.facade import StateStore
from sandbox.common.serve import running_server
from sandbox.invoiced.app import create_app as create_invoiced
from sandbox.invoiced.config import InvoicedConfig

PAGE = "/accounting-sync/"


@pytest.fixture
def invoiced(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An Invoiced account with a customer, behind ``invoiced_default``."""
    config = InvoicedConfig()
    with running_server(create_invoiced(config)) as url:
        requests.post(f"{url}/customers", json={"name": "Anchor"}, auth=(config.api_key, ""), timeout=10)
        monkeypatch.setenv(
            "AIRFLOW_CONN_INVOICED_DEFAULT", json.dumps({"conn_type": "invoiced", "host": url, "password": config.api_key})
        )
        yield url


def other_realm(qbo: dict[str, Any]) -> str:
    return str(requests.post(f"{qbo['url']}/_sandbox/realms", json={}, timeout=10).json()["realm_id"])


def test_reconnecting_another_company_holds_the_sync_until_the_person_chooses(
    browser: Browser, qbo: dict[str, Any], invoiced: str, store: StateStore
) -> None:
    connect(browser)
    page = browser.get(PAGE)
    assert f'<span id="bound-realm">{qbo["realm_id"]}</span>' in page.text
    assert "Sync held" not in page.text

    second = other_realm(qbo)
    connect(browser, realm_id=second)
    page = browser.get(PAGE)
    assert flash(page).startswith("warn: Connected to QuickBooks company")
    assert "Sync held" in page.text and f"connected to company {second}" in page.text
    assert f"Start afresh for company {second}" in page.text and "Reconnect the original company" in page.text

    configure = browser.post("/accounting-sync/configure?company=default", page="/accounting-sync/configure?company=default")
    assert configure.status_code == 400 and "The sync is held" in configure.text

    chosen = browser.post("/accounting-sync/binding/afresh?company=default")
    assert chosen.status_code == 303
    page = browser.get(PAGE)
    assert flash(page).startswith(f"ok: QuickBooks company {second} starts with a fresh sync state")
    assert "Sync held" not in page.text and f'<span id="bound-realm">{second}</span>' in page.text
    assert "the state of 1 earlier pair is kept" in page.text

    # Reconnecting the original company offers its kept state back.
    connect(browser, realm_id=qbo["realm_id"])
    page = browser.get(PAGE)
    assert f"Resume the earlier state of company {qbo['realm_id']}" in page.text
    browser.post("/accounting-sync/binding/afresh?company=default")
    assert "resumes its earlier sync state" in flash(browser.get(PAGE))
    assert binding.active_scope_key(store, "default") == "default"


def test_only_editors_may_choose(
    sign_in: Any, qbo: dict[str, Any], invoiced: str, store: StateStore
) -> None:
    editor = sign_in("op")
    connect(editor)
    connect(editor, realm_id=other_realm(qbo))
    viewer = sign_in("viewer", "vera")
    assert viewer.post("/accounting-sync/binding/afresh?company=default").status_code == 403
    assert binding.status(store, "default").held


def test_an_invoiced_key_of_another_account_is_held_and_can_be_confirmed_or_started_afresh(
    browser: Browser, qbo: dict[str, Any], invoiced: str, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect(browser)
    assert "Sync held" not in browser.get(PAGE).text
    config = InvoicedConfig()
    with running_server(create_invoiced(config)) as other:
        monkeypatch.setenv(
            "AIRFLOW_CONN_INVOICED_DEFAULT", json.dumps({"conn_type": "invoiced", "host": other, "password": config.api_key})
        )
        page = browser.get(PAGE)
        assert "Sync held" in page.text and "another Invoiced account" in page.text
        assert "Start afresh for the new Invoiced account" in page.text
        assert "It is the same account: keep the state" in page.text

        assert browser.post("/accounting-sync/binding/same-invoiced?company=default").status_code == 303
        page = browser.get(PAGE)
        assert flash(page) == "ok: Kept the sync state for the new Invoiced API key."
        assert "Sync held" not in page.text and binding.active_scope_key(store, "default") == "default"
