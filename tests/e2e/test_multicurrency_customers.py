"""A multicurrency company across runs: later documents of a customer go to the QBO
customer of their currency that an earlier run created, linked or imported, never to a
new twin; and the twins qbo_sync wrote never come back as customers of their own."""

from __future__ import annotations

import dataclasses
from typing import Any

import requests

from accounting_sync.qbo_import import pipeline as importer
from accounting_sync.store.facade import StateStore
from tests.e2e.test_sync_e2e import qbo_invoices_by_invoiced_id
from tests.support.sandboxes import Sandboxes, run_sync, sync_job


def invoiced_post(boxes: Sandboxes, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{boxes.invoiced_url}{path}", json=body, auth=(boxes.invoiced_info["api_key"], ""),
                             timeout=10)
    response.raise_for_status()
    return dict(response.json())


def invoice(boxes: Sandboxes, customer: dict[str, Any], currency: str) -> dict[str, Any]:
    return invoiced_post(boxes, "/invoices", {"customer": customer["id"], "currency": currency,
                                              "items": [{"name": "Work", "quantity": 1, "unit_cost": 100}]})


def multicurrency_company(boxes: Sandboxes) -> None:
    """An empty multicurrency QBO company (home USD) and an empty Invoiced account."""
    boxes.reset(seed_invoiced=False)
    requests.post(f"{boxes.qbo_url}/_sandbox/company", json={"multicurrency": True}, timeout=30).raise_for_status()
    boxes.faults("qbo", probability=0, kinds=[])
    boxes.faults("invoiced", probability=0, kinds=[])


def run_import(boxes: Sandboxes, store: StateStore, run_id: str) -> dict[str, dict[str, int]]:
    """extract -> load -> report, as the qbo_import DAG runs them (raises if a record failed)."""
    job = dataclasses.replace(sync_job(boxes, store, run_id), dag_id="qbo_import")
    importer.extract(job)
    counts = importer.load(job)
    importer.report(job)
    return counts


def test_later_documents_find_the_customer_of_their_currency(boxes: Sandboxes, store: StateStore) -> None:
    multicurrency_company(boxes)
    boxes.qbo("customer", "POST", {"DisplayName": "Linked GmbH", "CurrencyRef": {"value": "EUR"}})
    boxes.connect(store)
    created = invoiced_post(boxes, "/customers", {"name": "Created SARL", "currency": "eur"})
    linked = invoiced_post(boxes, "/customers", {"name": "Linked GmbH", "currency": "eur"})
    both = [created, linked]
    first = [invoice(boxes, customer, "eur") for customer in both]
    assert run_sync(sync_job(boxes, store, "first"))[1] is None

    later = [invoice(boxes, customer, "eur") for customer in both]
    assert run_sync(sync_job(boxes, store, "second"))[1] is None

    in_qbo = qbo_invoices_by_invoiced_id(boxes)
    for earlier, again in zip(first, later, strict=True):
        assert in_qbo[str(again["id"])]["CustomerRef"] == in_qbo[str(earlier["id"])]["CustomerRef"]
        assert in_qbo[str(again["id"])]["CurrencyRef"]["value"] == "EUR"
    assert sorted(row["DisplayName"] for row in boxes.qbo_rows("Customer")) == ["Created SARL", "Linked GmbH"]


def test_documents_of_an_imported_customer_go_to_the_quickbooks_customer_it_came_from(
    boxes: Sandboxes, store: StateStore
) -> None:
    multicurrency_company(boxes)
    source = boxes.qbo("customer", "POST", {"DisplayName": "Imported BV", "CurrencyRef": {"value": "EUR"}})
    boxes.connect(store)
    run_import(boxes, store, "import")
    [customer] = [c for c in boxes.invoiced_all("/customers") if c["name"] == "Imported BV"]
    assert customer["currency"] == "eur"

    in_euros, in_dollars = invoice(boxes, customer, "eur"), invoice(boxes, customer, "usd")
    assert run_sync(sync_job(boxes, store, "sync"))[1] is None

    in_qbo = qbo_invoices_by_invoiced_id(boxes)
    assert in_qbo[str(in_euros["id"])]["CustomerRef"]["value"] == source["Customer"]["Id"]
    assert sorted(row["DisplayName"] for row in boxes.qbo_rows("Customer")) == ["Imported BV", "Imported BV (USD)"]
    assert in_qbo[str(in_dollars["id"])]["CurrencyRef"]["value"] == "USD"


def test_per_currency_customers_qbo_sync_wrote_are_not_imported_as_customers(
    boxes: Sandboxes, store: StateStore
) -> None:
    multicurrency_company(boxes)
    boxes.connect(store)
    acme = invoiced_post(boxes, "/customers", {"name": "Acme", "currency": "usd"})
    invoice(boxes, acme, "usd")
    invoice(boxes, acme, "eur")
    assert run_sync(sync_job(boxes, store, "sync"))[1] is None
    twin = boxes.qbo_rows("Customer", "DisplayName = 'Acme (EUR)'")[0]
    assert twin["CurrencyRef"]["value"] == "EUR"
    before = boxes.invoiced_all("/customers")
    boxes.reset_stats()

    counts = run_import(boxes, store, "import")

    assert boxes.invoiced_all("/customers") == before  # no new customer, and Acme keeps its currency
    assert counts["customer"] == {"skipped": 2}
    assert not [row for row in boxes.stats("invoiced")["requests"] if row["method"] in {"POST", "PATCH"}
                and row["path"].startswith("/customers")]
