"""The hooks' ``test_connection`` (what the Connections page's Test button runs) against
both sandboxes over real HTTP, with connections defined as ``AIRFLOW_CONN_*``."""

from __future__ import annotations

import json

import pytest

from accounting_sync.invoiced.hook import InvoicedHook
from accounting_sync.quickbooks.hook import NOT_CONNECTED, QuickBooksHook
from accounting_sync.store.facade import StateStore
from tests.support.sandboxes import Sandboxes


@pytest.fixture
def quickbooks_connection(boxes: Sandboxes, monkeypatch: pytest.MonkeyPatch) -> None:
    """``quickbooks_default`` as `make run` defines it, pointing at the sandbox."""
    base = boxes.qbo_url
    connection = {
        "conn_type": "quickbooks",
        "host": base,
        "login": boxes.qbo_info["client_id"],
        "password": boxes.qbo_info["client_secret"],
        "extra": {"environment": "local", "token_url": f"{base}/oauth2/v1/tokens/bearer",
                  "revoke_url": f"{base}/oauth2/v1/tokens/revoke"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_QUICKBOOKS_DEFAULT", json.dumps(connection))


def invoiced_connection(monkeypatch: pytest.MonkeyPatch, boxes: Sandboxes, api_key: str) -> None:
    connection = {"conn_type": "invoiced", "host": boxes.invoiced_url, "password": api_key}
    monkeypatch.setenv("AIRFLOW_CONN_INVOICED_DEFAULT", json.dumps(connection))


def test_quickbooks_before_connect_says_to_press_connect(quickbooks_connection: None, store: StateStore) -> None:
    assert QuickBooksHook(store=store).test_connection() == (False, NOT_CONNECTED)
    assert NOT_CONNECTED == "not connected yet: press Connect on the Accounting Sync page"


def test_quickbooks_once_connected_reads_company_info(
    quickbooks_connection: None, boxes: Sandboxes, store: StateStore
) -> None:
    boxes.connect(store)
    ok, message = QuickBooksHook(store=store).test_connection()
    company = boxes.qbo("companyinfo/" + boxes.realm_id)["CompanyInfo"]["CompanyName"]
    assert ok, message
    assert message == f"Connected to QuickBooks company {company} (realm {boxes.realm_id})"


def test_quickbooks_get_conn_talks_to_the_api(quickbooks_connection: None, boxes: Sandboxes, store: StateStore) -> None:
    boxes.connect(store)
    client = QuickBooksHook(store=store).get_conn()
    assert client.company_info()["CompanyName"]
    assert client.tokens.access_token().realm_id == boxes.realm_id


def test_invoiced_reads_one_customer(boxes: Sandboxes, monkeypatch: pytest.MonkeyPatch) -> None:
    boxes.reset(seed_invoiced=True)
    invoiced_connection(monkeypatch, boxes, boxes.invoiced_info["api_key"])
    ok, message = InvoicedHook().test_connection()
    assert ok, message
    assert message.startswith(f"Connected to Invoiced at {boxes.invoiced_url} (")


def test_invoiced_with_a_wrong_key_fails_with_the_status(boxes: Sandboxes, monkeypatch: pytest.MonkeyPatch) -> None:
    invoiced_connection(monkeypatch, boxes, "not-the-key")
    ok, message = InvoicedHook().test_connection()
    assert not ok
    assert "401" in message


def test_invoiced_client_on_the_hook_session_lists_customers(boxes: Sandboxes, monkeypatch: pytest.MonkeyPatch) -> None:
    boxes.reset(seed_invoiced=True)
    invoiced_connection(monkeypatch, boxes, boxes.invoiced_info["api_key"])
    customers = list(InvoicedHook().get_client().iter_list("/customers"))
    assert customers and all("id" in customer for customer in customers)
