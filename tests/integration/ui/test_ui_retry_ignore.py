"""Retry and Ignore on Recent Syncs and on the failing-records page: editors only,
recorded in the audit trail, and shown on every page that lists the record."""

from __future__ import annotations

import re
from typing import Any

from test_ui_syncs import SCHEDULED, record_run
from ui_support import Browser, FakeAirflow, flash

from accounting_sync.store.facade import StateStore

ERRORS = "/accounting-sync/errors?company=default"
SYNCS = "/accounting-sync/syncs?company=default"
RECORD = {"flow": "qbo_sync", "object_type": "invoice", "source_id": "inv_1"}


def error_row(page: str, document: str = "INV-0007") -> str:
    match = re.search(rf"<tr>\s*<td>{document}</td>.*?</tr>", page, re.S)
    assert match, f"{document} not listed"
    return match.group(0)


def test_ignore_then_retry_from_the_failing_records_page(
    browser: Browser, store: StateStore, fake_airflow: FakeAirflow
) -> None:
    record_run(store)
    fake_airflow.add_run("qbo_sync", SCHEDULED, "failed")
    row = error_row(browser.get(ERRORS).text)
    assert "The account period has closed" in row and "6210" in row and "Reopen the period" in row
    assert ">Retry</button>" in row and ">Ignore</button>" in row

    ignored = browser.post("/accounting-sync/errors/ignore?company=default", {**RECORD, "back": "errors"}, page=ERRORS)
    page = browser.get(ERRORS)

    assert ignored.status_code == 303 and ignored.headers["location"].endswith("/errors?company=default")
    assert flash(page).startswith("ok: invoice INV-0007 is ignored")
    assert "ignored by olivia" in error_row(page.text) and ">Ignore</button>" not in error_row(page.text)
    assert "ignored by olivia" in error_row(browser.get(SYNCS).text)
    assert store.unresolved_source_ids("default", "qbo_sync", "invoice") == set()

    retried = browser.post("/accounting-sync/errors/retry?company=default", {**RECORD, "back": "syncs"}, page=SYNCS)
    page = browser.get(SYNCS)

    assert retried.headers["location"].endswith("/syncs?company=default")
    assert "queued for the next run: press Sync Now" in flash(page)
    assert store.unresolved_source_ids("default", "qbo_sync", "invoice") == {"inv_1"}
    assert [(e.action, e.user_name, e.detail["document"]) for e in store.audit_trail("default")] == [
        ("retry", "olivia", "INV-0007"),
        ("ignore", "olivia", "INV-0007"),
    ]


def test_viewers_see_no_buttons_and_may_not_ignore(sign_in: Any, qbo: dict[str, Any], store: StateStore) -> None:
    record_run(store)
    viewer = sign_in("viewer", "vera")

    row = error_row(viewer.get(ERRORS).text)
    refused = viewer.post("/accounting-sync/errors/ignore?company=default", RECORD, page=SYNCS)

    assert ">Ignore</button>" not in row and ">Retry</button>" not in row
    assert refused.status_code == 403
    assert store.ignored_records("default") == {} and store.audit_trail("default") == []


def test_a_record_that_is_not_failing_cannot_be_ignored(browser: Browser, store: StateStore) -> None:
    record_run(store)
    store.resolve_errors("default", "qbo_sync", "invoice", ["inv_1"])

    unknown = browser.post("/accounting-sync/errors/ignore?company=default", {**RECORD, "source_id": "nope"}, page=SYNCS)
    fixed = browser.post("/accounting-sync/errors/ignore?company=default", RECORD, page=SYNCS)

    assert unknown.status_code == fixed.status_code == 404
    assert "No record is failing." in browser.get(ERRORS).text
