"""The Configure page: choices from the connected company, validation, storage, CSRF."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow.api_fastapi.core_api.security import get_user
from cryptography.fernet import InvalidToken
from fastapi import FastAPI
from ui_support import Browser, flash

from accounting_sync.common import runtime
from accounting_sync.quickbooks.oauth import fernet
from accounting_sync.store.facade import StateStore
from accounting_sync.ui.security import seal, unseal

PAGE = "/accounting-sync/configure"
SAVE = "/accounting-sync/configure?company=default"
VALID = {
    "income_account": "Services",
    "discount_account": "Discounts given",
    "deposit_account": "Checking",
    "bad_debt_account": "Bad Debts",
    "tax_code": "Invoiced Sales Tax",
    "bad_debt_item_name": "Write-off",
    "sync_start_date": "2026-01-01",
    "duplicate_customer_names": "merge",
    "write_invoices": "on",
    "write_payments": "on",
}


def options(page: str, select: str) -> list[str]:
    block = re.search(rf'<select name="{select}"[^>]*>(.*?)</select>', page, re.S)
    assert block, f"no select {select}"
    return re.findall(r'<option value="([^"]*)"', block.group(1))


def selected(page: str, select: str) -> str:
    block = re.search(rf'<select name="{select}"[^>]*>(.*?)</select>', page, re.S)
    assert block
    match = re.search(r'<option value="([^"]*)" selected', block.group(1))
    return match.group(1) if match else ""


def checked(page: str, name: str) -> bool:
    match = re.search(rf'<input type="checkbox" name="{name}"([^>]*)>', page)
    assert match, f"no checkbox {name}"
    return "checked" in match.group(1)


def test_choices_come_from_the_connected_company(browser: Browser, connected: dict[str, Any]) -> None:
    page = browser.get(PAGE).text

    assert options(page, "income_account") == [
        "Invoiced Income",
        "Discounts given",
        "Sales of Product Income",
        "Services",
    ]
    assert options(page, "deposit_account") == ["Checking", "Undeposited Funds"]
    assert selected(page, "deposit_account") == "Undeposited Funds"
    assert options(page, "bad_debt_account") == ["Bad Debts"]  # the default, created by the sync
    assert "TAX" not in options(page, "tax_code")
    assert selected(page, "income_account") == "Invoiced Income"  # from include/mappings/defaults.yaml
    assert selected(page, "duplicate_customer_names") == "disambiguate"
    assert checked(page, "import_credit_notes")  # on by default, as Invoiced reads credit notes


def test_saving_a_mapping_stores_it_for_the_dags(
    browser: Browser, connected: dict[str, Any], store: StateStore
) -> None:
    response = browser.post(SAVE, VALID, page=PAGE)

    assert response.status_code == 303
    page = browser.get(PAGE).text
    assert "Settings saved" in page
    stored = store.get_settings("default")
    assert stored["income_account"] == {
        "name": "Services",
        "account_type": "Income",
        "account_sub_type": "ServiceFeeIncome",
    }
    assert (
        stored["deposit_account"]["name"] == "Checking"
        and stored["deposit_account"]["account_type"] == "Bank"
    )
    settings = runtime.settings_for(store, runtime.company("default"))
    assert settings.income_account.name == "Services"
    assert settings.bad_debt_item_name == "Write-off"
    assert str(settings.sync_start_date) == "2026-01-01"
    assert settings.duplicate_customer_names == "merge"
    assert (settings.write_invoices, settings.import_invoices, settings.import_customers) == (
        True,
        False,
        False,
    )
    assert set(stored) <= set(settings.model_dump())
    assert selected(page, "income_account") == "Services"
    assert checked(page, "write_invoices") and not checked(page, "import_invoices")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "duplicate_customer_names",
            "bogus",
            "Duplicate customer names: Input should be &#39;merge&#39; or &#39;disambiguate&#39;",
        ),
        ("sync_start_date", "2026-13-45", "Sync start date: Input should be a valid date"),
        ("bad_debt_item_name", "", "Bad-debt item: String should have at least 1 character"),
        ("bad_debt_item_name", "x" * 101, "Bad-debt item: String should have at most 100 characters"),
        (
            "income_account",
            "Checking",
            "Income account: &#39;Checking&#39; is not one of the offered QuickBooks accounts.",
        ),
        (
            "tax_code",
            "Nowhere Tax",
            "Tax code: &#39;Nowhere Tax&#39; is not a tax code of the connected QuickBooks company.",
        ),
    ],
)
def test_invalid_settings_are_rejected_with_a_message(
    browser: Browser, connected: dict[str, Any], store: StateStore, field: str, value: str, message: str
) -> None:
    response = browser.post(SAVE, {**VALID, field: value}, page=PAGE)

    assert response.status_code == 400
    assert "The settings were not saved" in response.text and message in response.text
    assert store.get_settings("default") == {}


def test_optional_qbo_fields_are_mapped_from_metadata_keys(
    browser: Browser, connected: dict[str, Any], store: StateStore
) -> None:
    page = browser.get(PAGE).text
    assert 'name="class_metadata_key" value="qbo_class"' in page  # Invoiced's own key by default

    form = {**VALID, "class_metadata_key": "department_class", "location_metadata_key": "",
            "terms_metadata_key": "qbo_terms", "custom_fields.2.qbo_name": "PO number",
            "custom_fields.2.metadata_key": "po"}
    assert browser.post(SAVE, form, page=PAGE).status_code == 303

    settings = runtime.settings_for(store, runtime.company("default"))
    assert (settings.class_metadata_key, settings.location_metadata_key) == ("department_class", "")
    assert [(d, s.qbo_name, s.metadata_key) for d, s in settings.custom_field_ids()] == [("2", "PO number", "po")]
    assert 'name="custom_fields.2.qbo_name" value="PO number"' in browser.get(PAGE).text
    half = browser.post(SAVE, {**form, "custom_fields.1.metadata_key": "crew"}, page=PAGE)
    assert half.status_code == 400 and "QuickBooks custom field" in half.text


def test_without_a_connection_only_the_current_accounts_are_offered(
    browser: Browser, store: StateStore
) -> None:
    page = browser.get(PAGE).text
    form = {
        "income_account": "Invoiced Income",
        "discount_account": "Invoiced Discounts",
        "deposit_account": "Undeposited Funds",
        "bad_debt_account": "Bad Debts",
        "tax_code": "Invoiced Sales Tax",
        "bad_debt_item_name": "Bad Debt Write-off",
        "duplicate_customer_names": "disambiguate",
        "write_invoices": "on",
    }

    response = browser.post(SAVE, form, page=PAGE)

    assert "Connect to QuickBooks to choose" in page
    assert options(page, "income_account") == ["Invoiced Income"]
    assert response.status_code == 303
    assert store.get_settings("default")["write_payments"] is False


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}],
    ids=["foreign-origin", "cross-site"],
)
def test_cross_site_posts_are_refused(
    browser: Browser, connected: dict[str, Any], store: StateStore, headers: dict[str, str]
) -> None:
    response = browser.post(SAVE, VALID, page=PAGE, headers=headers)

    assert response.status_code == 403 and "CSRF" in response.text
    assert store.get_settings("default") == {}


def test_a_post_without_the_token_is_refused(
    browser: Browser, connected: dict[str, Any], store: StateStore
) -> None:
    browser.get(PAGE)

    response = browser.client.post(SAVE, data=VALID)

    assert response.status_code == 403 and "CSRF" in response.text
    assert store.get_settings("default") == {}


def test_a_token_from_another_users_page_is_refused(
    browser: Browser, ui_app: FastAPI, connected: dict[str, Any], store: StateStore
) -> None:
    token = browser.csrf(PAGE)
    ui_app.dependency_overrides[get_user] = lambda: SimpleAuthManagerUser(username="mallory", role="op")

    response = browser.client.post(SAVE, data={**VALID, "csrf_token": token})

    assert response.status_code == 403
    assert store.get_settings("default") == {}


def test_a_planted_csrf_cookie_does_not_pass(
    browser: Browser, connected: dict[str, Any], store: StateStore
) -> None:
    token = browser.csrf(PAGE)
    browser.client.cookies.set(
        "accounting_sync_csrf", "planted-by-another-port-of-this-host", path="/accounting-sync/"
    )

    response = browser.client.post(SAVE, data={**VALID, "csrf_token": token})

    assert response.status_code == 403
    assert store.get_settings("default") == {}


def test_a_non_ascii_csrf_cookie_is_refused_not_a_server_error(
    browser: Browser, connected: dict[str, Any], store: StateStore
) -> None:
    token = browser.csrf(PAGE)
    browser.client.cookies.clear()
    planted = ("accounting_sync_csrf=" + "é" * 30).encode("latin-1")  # bytes a browser may send

    response = browser.client.post(SAVE, data={**VALID, "csrf_token": token}, headers={"cookie": planted})

    assert response.status_code == 403 and "CSRF" in response.text
    assert store.get_settings("default") == {}


def test_a_value_sealed_for_another_purpose_is_no_csrf_token(
    browser: Browser, connected: dict[str, Any], store: StateStore
) -> None:
    """Every sealed value names its purpose: a flash message sealed with the same fields is
    not a CSRF token, and no sealed value opens with the key of the stored tokens."""
    token = browser.csrf(PAGE)
    sealed = unseal("csrf", token, 60)
    assert sealed is not None
    forged = seal("flash", sealed)

    response = browser.client.post(SAVE, data={**VALID, "csrf_token": forged})

    assert response.status_code == 403
    assert store.get_settings("default") == {}
    with pytest.raises(InvalidToken):
        fernet().decrypt(token.encode())


def test_reloading_configure_does_not_spend_the_companys_qbo_requests(
    browser: Browser, connected: dict[str, Any]
) -> None:
    """The chart of accounts and tax codes are read once per company and realm for a few
    minutes, however often the page is loaded or a save is refused."""
    requests.post(f"{connected['url']}/_sandbox/stats/reset", timeout=10).raise_for_status()
    for _ in range(5):
        assert browser.get(PAGE).status_code == 200
    stats = requests.get(f"{connected['url']}/_sandbox/stats", timeout=10).json()
    queries = sum(row["count"] for row in stats["requests"] if row["path"].endswith("/query"))
    assert queries == 2  # Account and TaxCode, once


def test_a_viewer_sees_the_settings_but_cannot_save(
    sign_in: Any, qbo: dict[str, Any], store: StateStore
) -> None:
    viewer = sign_in("viewer", "vera")
    page = viewer.get(PAGE)

    response = viewer.post(SAVE, VALID, page=PAGE)

    assert page.status_code == 200 and "disabled" in page.text
    assert response.status_code == 403 and "You may not change" in response.text
    assert store.get_settings("default") == {}


def test_several_companies_have_a_selector_and_their_own_settings(
    sign_in: Any, qbo: dict[str, Any], store: StateStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    companies = tmp_path / "companies.yaml"
    companies.write_text(
        "companies:\n  - key: default\n  - key: acme\n    quickbooks_conn_id: quickbooks_default\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("ACCOUNTING_SYNC_COMPANIES_FILE", str(companies))
    browser = sign_in("op")

    page = browser.get("/accounting-sync/configure?company=acme")
    response = browser.post(
        "/accounting-sync/configure?company=acme",
        {
            **VALID,
            "income_account": "Invoiced Income",
            "deposit_account": "Undeposited Funds",
            "discount_account": "Invoiced Discounts",
        },
        page="/accounting-sync/configure?company=acme",
    )

    assert options(page.text, "company") == ["default", "acme"] and selected(page.text, "company") == "acme"
    assert response.status_code == 303 and response.headers["location"].endswith("/configure?company=acme")
    assert store.get_settings("acme")["duplicate_customer_names"] == "merge"
    assert store.get_settings("default") == {}
    assert browser.get("/accounting-sync/configure?company=nope").status_code == 404
    assert "Settings saved" in flash(browser.get("/accounting-sync/configure?company=acme"))
