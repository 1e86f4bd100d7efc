"""A multicurrency company across runs: later documents of a customer go to the QBO
customer of their currency that an earlier run created or linked, never to a new twin."""

from __future__ import annotations

from typing import Any

import requests

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


def test_later_documents_find_the_customer_of_their_currency(boxes: Sandboxes, store: StateStore) -> None:
    boxes.reset(seed_invoiced=False)
    requests.post(f"{boxes.qbo_url}/_sandbox/company", json={"multicurrency": True}, timeout=30).raise_for_status()
    boxes.faults("qbo", probability=0, kinds=[])
    boxes.faults("invoiced", probability=0, kinds=[])
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
