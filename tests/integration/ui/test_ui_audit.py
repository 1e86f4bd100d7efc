"""The audit trail: every change made from the pages is kept with user, company and time,
logged on ``accounting_sync.audit``, and shown on the Connection page."""

from __future__ import annotations

import html
import logging
import re
from typing import Any

import pytest
from test_ui_binding import invoiced, other_realm  # noqa: F401 - the fixture is used by name
from test_ui_configure import VALID
from ui_support import Browser, FakeAirflow, connect

from accounting_sync.common.values import utcnow
from accounting_sync.store.facade import StateStore

PAGE = "/accounting-sync/"
CONFIGURE = "/accounting-sync/configure?company=default"


def last_changes(page: str) -> list[list[str]]:
    section = re.search(r'<section class="card" id="changes">(.*?)</section>', page, re.S)
    assert section, "the Connection page shows no changes"
    rows = re.findall(r"<tr><td>(.*?)</td></tr>", section.group(1), re.S)
    return [[html.unescape(cell) for cell in row.split("</td><td>")] for row in rows]


def test_connect_reconnect_settings_runs_and_disconnect_are_kept_and_shown(
    browser: Browser,
    qbo: dict[str, Any],
    invoiced: str,  # noqa: F811 - the fixture
    store: StateStore,
    fake_airflow: FakeAirflow,
    caplog: pytest.LogCaptureFixture,
) -> None:
    started = utcnow()
    caplog.set_level(logging.INFO, logger="accounting_sync.audit")
    connect(browser)
    second = other_realm(qbo)
    connect(browser, realm_id=second)
    browser.post("/accounting-sync/binding/afresh?company=default")
    browser.post(CONFIGURE, VALID, page=CONFIGURE)
    browser.post(CONFIGURE, VALID, page=CONFIGURE)  # the same values again: no change
    browser.post(CONFIGURE, {**VALID, "sync_start_date": "2026-03-01"}, page=CONFIGURE)
    browser.post("/accounting-sync/syncs/auto?company=default", {"flow": "sync", "enabled": "true"})
    browser.post("/accounting-sync/syncs/run?company=default", {"flow": "sync"})
    browser.post("/accounting-sync/disconnect?company=default")

    trail = store.audit_trail("default")
    shown = last_changes(browser.get(PAGE).text)

    assert [event.action for event in trail] == [
        "disconnect", "sync_now", "auto_sync", "settings", "settings", "state_afresh", "connect", "connect",
    ]
    assert {(event.user_id, event.user_name, event.company_key) for event in trail} == {("olivia", "olivia", "default")}
    assert all(started <= event.at.replace(tzinfo=started.tzinfo) <= utcnow() for event in trail)
    assert trail[-1].detail == {"realm_id": qbo["realm_id"], "previous_realm_id": None}
    assert trail[-2].detail == {"realm_id": second, "previous_realm_id": qbo["realm_id"]}
    assert trail[3].detail["changes"] == {"sync_start_date": ["2026-01-01", "2026-03-01"]}
    assert trail[0].detail == {"realm_id": second}
    assert [row[1:3] for row in shown] == [
        ["olivia", "Disconnected QuickBooks"],
        ["olivia", "Started a run"],
        ["olivia", "Changed auto-sync"],
        ["olivia", "Changed settings"],
        ["olivia", "Changed settings"],
        ["olivia", "Chose the connected company"],
        ["olivia", "Connected QuickBooks"],
        ["olivia", "Connected QuickBooks"],
    ]
    assert shown[3][3] == "Sync start date: '2026-01-01' → '2026-03-01'"
    assert shown[6][3] == f"QuickBooks company {second} (was {qbo['realm_id']})"
    assert shown[2][3] == "qbo_sync: enabled"
    assert sum("for company default" in message for message in caplog.messages) == len(trail)


def test_refused_and_failed_changes_are_not_recorded(
    sign_in: Any, qbo: dict[str, Any], store: StateStore, fake_airflow: FakeAirflow
) -> None:
    viewer = sign_in("viewer", "vera")
    viewer.post("/accounting-sync/disconnect?company=default")
    viewer.post(CONFIGURE, VALID, page=CONFIGURE)
    fake_airflow.refuse_with = 403
    viewer.post("/accounting-sync/syncs/run?company=default", {"flow": "sync"})

    assert store.audit_trail("default") == []
    assert 'id="changes"' not in viewer.get(PAGE).text
