"""The Configure page of a VAT/GST company: which kind of company is connected, and each
Invoiced tax rate mapped onto the company's own tax codes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from ui_support import Browser

from accounting_sync.common import runtime
from accounting_sync.store.facade import StateStore
from sandbox.common.serve import running_server
from sandbox.invoiced.app import create_app as create_invoiced
from sandbox.invoiced.config import InvoicedConfig
from tests.integration.ui.test_ui_configure import PAGE, SAVE, VALID, options, selected

ZERO = {"id": "zero", "name": "Zero", "value": 0, "is_percent": True}  # three GB codes are 0 %


@pytest.fixture
def gb_company(connected: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The connected company turned into a GB one, and an Invoiced account billing in GBP."""
    requests.post(f"{connected['url']}/_sandbox/company", json={"country": "GB"}, timeout=10).raise_for_status()
    config = InvoicedConfig()
    with running_server(create_invoiced(config)) as invoiced_url:
        requests.post(f"{invoiced_url}/_sandbox/seed", json={"locale": "gb"}, timeout=30).raise_for_status()
        requests.post(f"{invoiced_url}/tax_rates", json=ZERO, auth=(config.api_key, ""), timeout=10).raise_for_status()
        monkeypatch.setenv("AIRFLOW_CONN_INVOICED_DEFAULT", json.dumps(
            {"conn_type": "invoiced", "host": invoiced_url, "password": config.api_key}))
        yield connected


def test_the_page_says_which_company_and_offers_its_own_codes_per_rate(browser: Browser, gb_company: Any) -> None:
    page = browser.get(PAGE).text

    assert re.search(r'id="company-kind">Connected: GB company, VAT/GST codes', page)
    assert options(page, "tax_code_map.vat")[1:] == ["20.0% S", "5.0% R", "0.0% Z", "Exempt", "No VAT"]
    assert "Automatic: 20.0% S" in page and "Automatic: 5.0% R" in page
    block = re.search(r'name="tax_code_map.zero".*?</select>', page, re.S)
    assert block and "Choose a tax code (the sync cannot tell)" in block.group(0)
    assert options(page, "untaxed_tax_code") == ["", "0.0% Z", "Exempt", "No VAT"]
    assert 'name="tax_code"' not in page  # the US tax code of the mapping does not apply here


def test_a_picked_code_is_stored_for_the_sync(browser: Browser, gb_company: Any, store: StateStore) -> None:
    response = browser.post(SAVE, {**VALID, "tax_code": "", "tax_code_map.zero": "Exempt",
                                   "untaxed_tax_code": "No VAT"}, page=PAGE)

    assert response.status_code == 303
    settings = runtime.settings_for(store, runtime.company("default"))
    assert (settings.tax_code_map, settings.untaxed_tax_code) == ({"zero": "Exempt"}, "No VAT")
    assert selected(browser.get(PAGE).text, "tax_code_map.zero") == "Exempt"


def test_a_code_the_company_lacks_is_refused(browser: Browser, gb_company: Any, store: StateStore) -> None:
    response = browser.post(SAVE, {**VALID, "tax_code_map.vat": "TAX"}, page=PAGE)

    assert response.status_code == 400
    assert "VAT/GST tax code: &#39;TAX&#39; is not a tax code of the connected QuickBooks company." in response.text
    assert store.get_settings("default") == {}


def test_a_us_company_shows_its_kind_and_no_mapping(browser: Browser, connected: Any) -> None:
    page = browser.get(PAGE).text

    assert "Connected: US company, sales tax codes" in page and "tax_code_map." not in page
