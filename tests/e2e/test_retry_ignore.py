"""Ignore and Retry of a failing record, end to end through qbo_sync: an ignored record
is not retried and every later report says so, until it changes on Invoiced or someone
presses Retry; a record that syncs clears its error by itself."""

from __future__ import annotations

import requests

from accounting_sync.store.facade import StateStore
from tests.support.sandboxes import Sandboxes, run_sync, sync_job


def close_books(boxes: Sandboxes, date: str | None) -> None:
    requests.post(f"{boxes.qbo_url}/_sandbox/close-books", json={"date": date}, timeout=10).raise_for_status()


def latest_summary(store: StateStore) -> str:
    return str(store.recent_runs("default", limit=1)[0].summary)


def test_an_ignored_invoice_waits_until_it_changes_on_invoiced(seeded: Sandboxes, store: StateStore) -> None:
    close_books(seeded, "2099-12-31")
    run_sync(sync_job(seeded, store, "closed"))
    failing = sorted(e.source_id for e in store.open_errors("default", "qbo_sync") if e.object_type == "invoice")
    unpaid = {str(i["id"]) for i in seeded.invoiced_all("/invoices", include="amount_paid") if not i.get("amount_paid")}
    ignored, retried = [invoice for invoice in failing if invoice in unpaid][:2]  # no payment waits for them
    store.ignore_record("default", "qbo_sync", "invoice", ignored, "olivia")
    store.ignore_record("default", "qbo_sync", "invoice", retried, "olivia")
    store.unignore_records("default", "qbo_sync", "invoice", [retried])  # Retry pressed
    close_books(seeded, None)

    counts, failure = run_sync(sync_job(seeded, store, "reopened"))
    # (a payment of an ignored invoice would wait for it, and fail, until it reaches QBO)

    assert failure is None, failure  # the ignored invoice does not fail the run
    assert counts["invoice"]["created"] == len(failing) - 1
    assert store.unresolved_source_ids("default", "qbo_sync", "invoice") == set()
    assert [e.source_id for e in store.open_errors("default", "qbo_sync")] == [ignored]
    assert "1 ignored record(s) not retried" in latest_summary(store)

    counts, _ = run_sync(sync_job(seeded, store, "unchanged"))
    assert counts.get("invoice", {}).get("created", 0) == 0
    assert "1 ignored record(s) not retried" in latest_summary(store)

    # Changed later than the ignore, clocks' margin included.
    requests.post(f"{seeded.invoiced_url}/_sandbox/clock", json={"advance_seconds": 120}, timeout=10).raise_for_status()
    requests.patch(
        f"{seeded.invoiced_url}/invoices/{ignored}",
        json={"notes": "corrected"},
        auth=(seeded.invoiced_info["api_key"], ""),
        timeout=10,
    ).raise_for_status()
    counts, failure = run_sync(sync_job(seeded, store, "changed"))

    assert failure is None, failure
    assert counts["invoice"]["created"] == 1
    assert store.open_errors("default", "qbo_sync") == [] and store.ignored_records("default") == {}
    assert "ignored" not in latest_summary(store)
