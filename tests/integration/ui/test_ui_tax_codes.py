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
from tests.support.sandboxes import Sandboxes, run_sync, sync_job

ZERO = {"id": "zero", "name": "Zero", "value": 0, "is_percent": True}  # three GB codes are 0 %
VAT = {"id": "vat", "name": "VAT", "value": 20, "is_percent": True}


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


@pytest.fixture
def gb_books(connected: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandboxes]:
    """A GB company and a small Invoiced account billing in GBP: VAT, and a 0 % rate three GB
    codes could carry, on one invoice each."""
    requests.post(f"{connected['url']}/_sandbox/company", json={"country": "GB"}, timeout=10).raise_for_status()
    config = InvoicedConfig()
    with running_server(create_invoiced(config)) as invoiced_url:
        monkeypatch.setenv("AIRFLOW_CONN_INVOICED_DEFAULT", json.dumps(
            {"conn_type": "invoiced", "host": invoiced_url, "password": config.api_key}))
        boxes = Sandboxes.started(connected["url"], invoiced_url)
        for rate in (VAT, ZERO):
            invoiced_write(boxes, "/tax_rates", rate)
        customer = invoiced_write(boxes, "/customers", {"name": "Brighton Books", "currency": "gbp"})["id"]
        for rate in ("vat", "zero", "zero"):
            invoiced_write(boxes, "/invoices", {"customer": customer, "taxes": [rate],
                                                "items": [{"name": "Binding", "unit_cost": 40}]})
        yield boxes


def invoiced_write(boxes: Sandboxes, path: str, body: dict[str, Any]) -> Any:
    response = requests.post(f"{boxes.invoiced_url}{path}", json=body, auth=(boxes.invoiced_info["api_key"], ""),
                             timeout=10)
    response.raise_for_status()
    return response.json()


def line_codes(boxes: Sandboxes) -> dict[str, set[str]]:
    """Each QBO invoice's line tax codes, by name, keyed by its DocNumber."""
    names = {row["Id"]: row["Name"] for row in boxes.qbo_rows("TaxCode")}
    return {row["DocNumber"]: {names[line["SalesItemLineDetail"]["TaxCodeRef"]["value"]] for line in row["Line"]
                               if line["DetailType"] == "SalesItemLineDetail"} for row in boxes.qbo_rows("Invoice")}


def test_invoices_waiting_for_a_picked_code_are_written_with_it_by_the_next_run(
    browser: Browser, gb_books: Sandboxes, store: StateStore
) -> None:
    counts, failure = run_sync(sync_job(gb_books, store, "unpicked"))
    assert failure is not None and "tax_code_ambiguous" in str(failure)
    assert [e.code for e in store.open_errors("default")] == ["tax_code_ambiguous"] * 2
    assert line_codes(gb_books) == {"INV-00001": {"20.0% S"}}

    saved = browser.post(SAVE, {**VALID, "tax_code": "", "tax_code_map.zero": "Exempt"}, page=PAGE)
    assert saved.status_code == 303
    counts, failure = run_sync(sync_job(gb_books, store, "picked"))

    assert failure is None and counts["invoice"]["created"] == 2 and not store.open_errors("default")
    assert line_codes(gb_books) == {"INV-00001": {"20.0% S"}, "INV-00002": {"Exempt"}, "INV-00003": {"Exempt"}}


def test_a_changed_code_rewrites_synced_documents_only_when_asked(
    browser: Browser, gb_books: Sandboxes, store: StateStore
) -> None:
    assert browser.post(SAVE, {**VALID, "tax_code": "", "tax_code_map.zero": "0.0% Z"}, page=PAGE).status_code == 303
    assert run_sync(sync_job(gb_books, store, "first"))[1] is None
    page = browser.get(PAGE).text
    assert "Already in QuickBooks: 2 documents on 0.0% Z." in page and 'name="rewrite.zero"' in page
    assert re.search(r'id="written-vat">Already in QuickBooks: 1 document on 20.0% S\.', page)

    # A new code alone applies from now on: what is in QuickBooks stays as written.
    assert browser.post(SAVE, {**VALID, "tax_code": "", "tax_code_map.zero": "Exempt"}, page=PAGE).status_code == 303
    counts, failure = run_sync(sync_job(gb_books, store, "changed"))
    assert failure is None and "updated" not in counts["invoice"]
    assert line_codes(gb_books)["INV-00002"] == {"0.0% Z"}

    saved = browser.post(SAVE, {**VALID, "tax_code": "", "tax_code_map.zero": "Exempt", "rewrite.zero": "on"},
                         page=PAGE, follow_redirects=True)
    assert "2 synced document(s) are queued to be written again with the new tax code." in saved.text
    assert "Queued synced documents for a new tax code" in browser.get("/accounting-sync/").text
    counts, failure = run_sync(sync_job(gb_books, store, "rewritten"))

    assert failure is None and counts["invoice"]["updated"] == 2 and not store.open_errors("default")
    assert line_codes(gb_books) == {"INV-00001": {"20.0% S"}, "INV-00002": {"Exempt"}, "INV-00003": {"Exempt"}}
    assert "Already in QuickBooks: 2 documents on Exempt." in browser.get(PAGE).text
