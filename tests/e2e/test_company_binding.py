"""Sync state belongs to one QBO company and one Invoiced account: reconnecting another
company or switching the Invoiced key holds the sync; starting afresh syncs the new pair
exactly, with none of the old pair's ids; reconnecting the original brings its state back.
Both sandboxes over HTTP, the pipeline steps as the DAG runs them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from accounting_sync.common import binding
from accounting_sync.invoiced.client import InvoicedClient
from accounting_sync.store.bindings import StateHeld
from accounting_sync.store.facade import StateStore
from sandbox.common.serve import running_server
from sandbox.invoiced.app import create_app as create_invoiced
from sandbox.invoiced.config import InvoicedConfig as InvoicedSandboxConfig
from tests.support.books import assert_books_match, eligible_invoices
from tests.support.sandboxes import Sandboxes, run_sync, sandboxes, sync_job

COMPANY = "default"


def qbo_post_count(boxes: Sandboxes) -> int:
    return sum(
        r["count"]
        for r in boxes.stats("qbo")["requests"]
        if r["method"] == "POST" and r["path"].startswith("/v3") and "query" not in r["path"]
    )


@pytest.fixture
def fresh_boxes() -> Iterator[Sandboxes]:
    """Sandboxes of this test alone: it connects several QBO companies and Invoiced keys."""
    with sandboxes() as started:
        started.reset(seed_invoiced=True)
        yield started


def test_another_quickbooks_company_is_held_then_synced_afresh_and_the_original_comes_back(
    fresh_boxes: Sandboxes, store: StateStore
) -> None:
    boxes = fresh_boxes
    realm_a = boxes.realm_id
    boxes.connect(store)
    assert run_sync(sync_job(boxes, store, "a-1"))[1] is None
    assert_books_match(boxes, realm_a)

    # The user reconnects to another company, one with customers and items of its own
    # (the ids the old id map holds exist there too: the dangerous case).
    realm_b = requests.post(f"{boxes.qbo_url}/_sandbox/realms", json={}, timeout=10).json()["realm_id"]
    requests.post(f"{boxes.qbo_url}/_sandbox/seed", json={"realm_id": realm_b}, timeout=30).raise_for_status()
    demo_invoices = len(boxes.qbo_rows("Invoice", realm=realm_b))
    boxes.connect(store, realm_id=realm_b)
    boxes.reset_stats()
    with pytest.raises(StateHeld, match=f"connected to company {realm_b}"):
        run_sync(sync_job(boxes, store, "b-held"))
    assert qbo_post_count(boxes) == 0
    assert [(h.side, h.found) for h in binding.status(store, COMPANY).holds] == [("quickbooks", realm_b)]

    invoiced = InvoicedClient(boxes.invoiced_config())
    scope, resumed = binding.start_afresh(store, COMPANY, realm_b, invoiced)
    assert not resumed and scope.key != COMPANY
    counts, failure = run_sync(sync_job(boxes, store, "b-1"))
    assert failure is None, failure
    assert counts["invoice"]["created"] == len(eligible_invoices(boxes))
    assert_books_match(boxes, realm_b)
    assert len(boxes.qbo_rows("Invoice", realm=realm_b)) == demo_invoices + len(eligible_invoices(boxes))

    # Back to the original company: held again, then its own state resumes and nothing
    # needs writing.
    boxes.connect(store, realm_id=realm_a)
    with pytest.raises(StateHeld):
        sync_job(boxes, store, "a-held")
    scope, resumed = binding.start_afresh(store, COMPANY, realm_a, invoiced)
    assert resumed and scope.key == COMPANY
    boxes.reset_stats()
    counts, failure = run_sync(sync_job(boxes, store, "a-2"))
    assert failure is None and qbo_post_count(boxes) == 0
    assert set(counts["invoice"]) <= {"unchanged", "skipped"}
    assert_books_match(boxes, realm_a)


def second_account(config: InvoicedSandboxConfig, boxes: Sandboxes, url: str) -> Sandboxes:
    """Another Invoiced account, with customers and invoices of its own, against the
    same QBO company."""
    info = requests.get(f"{url}/_sandbox/info", timeout=10).json()
    other = Sandboxes(boxes.qbo_url, url, boxes.qbo_info, info)
    auth = (info["api_key"], "")
    for n in range(1, 3):
        customer = requests.post(f"{url}/customers", json={"name": f"Second Account Customer {n}"}, auth=auth, timeout=10)
        customer.raise_for_status()
        for k in range(1, 3):
            invoice = requests.post(
                f"{url}/invoices",
                json={
                    "customer": customer.json()["id"],
                    "number": f"SEC-{n}{k}",
                    "items": [{"name": "Second account work", "quantity": k, "unit_cost": 12.5 * n}],
                },
                auth=auth,
                timeout=10,
            )
            invoice.raise_for_status()
    return other


@pytest.mark.parametrize("id_base", [None, 0], ids=["shared-id-space", "ids-from-1-in-each-account"])
def test_switching_the_invoiced_key_to_another_account_holds_then_syncs_afresh(
    store: StateStore, id_base: int | None
) -> None:
    first = InvoicedSandboxConfig() if id_base is None else InvoicedSandboxConfig(id_base=id_base)
    with sandboxes(invoiced_config=first) as boxes:
        boxes.reset(seed_invoiced=True)
        boxes.connect(store)
        assert run_sync(sync_job(boxes, store, "one-1"))[1] is None
        before = {row["Id"]: row["SyncToken"] for row in boxes.qbo_rows("Invoice")}

        # The other account was opened a year earlier: its records differ even where ids match.
        config = InvoicedSandboxConfig(clock_start=int(time.time()) - 400 * 86400)
        if id_base is not None:
            config = InvoicedSandboxConfig(id_base=id_base, clock_start=config.clock_start)
        with running_server(create_invoiced(config)) as url:
            other = second_account(config, boxes, url)
            boxes.reset_stats()
            with pytest.raises(StateHeld, match="another Invoiced account"):
                run_sync(sync_job(other, store, "two-held"))
            assert qbo_post_count(boxes) == 0
            assert [h.side for h in binding.status(store, COMPANY).holds] == ["invoiced"]

            binding.start_afresh(store, COMPANY, boxes.realm_id, InvoicedClient(other.invoiced_config()))
            counts, failure = run_sync(sync_job(other, store, "two-1"))
            assert failure is None, failure
            assert counts["invoice"]["created"] == 4 and counts["customer"]["created"] == 2
            assert_books_match(other, boxes.realm_id)
        # The first account's documents in QBO were not touched.
        after = {row["Id"]: row["SyncToken"] for row in boxes.qbo_rows("Invoice")}
        assert {k: after[k] for k in before} == before
