"""Recent Syncs, Sync Now and auto-sync, with Airflow's REST API stood in by FakeAirflow."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from starlette.requests import Request
from ui_support import Browser, FakeAirflow, flash

from accounting_sync.store.facade import StateStore
from accounting_sync.ui.airflow_api import loopback_url
from accounting_sync.ui.app import SECURITY_HEADERS

PAGE = "/accounting-sync/syncs"
TABLE = "/accounting-sync/syncs/table?company=default"
RUN = "/accounting-sync/syncs/run?company=default"
AUTO = "/accounting-sync/syncs/auto?company=default"
SCHEDULED = "scheduled__2026-07-01T09:00:00+00:00"


def record_run(store: StateStore) -> None:
    """A finished qbo_sync run the way the pipeline's report task leaves it."""
    store.start_run("default", "qbo_sync", SCHEDULED)
    store.record_error(
        "default",
        "qbo_sync",
        "invoice",
        "inv_1",
        message="The account period has closed",
        document_number="INV-0007",
        code="6210",
        hint="Reopen the period in QuickBooks and sync again.",
        run_id=SCHEDULED,
    )
    counts = {"invoice": {"created": 3, "failed": 1}, "customer": {"created": 2, "unchanged": 5}}
    store.finish_run("default", "qbo_sync", SCHEDULED, "failed", counts, "invoice: 3 created")


def run_block(page: str, run_id: str) -> str:
    match = re.search(
        rf'<div class="run" data-run-id="{re.escape(run_id)}".*?(?=<div class="run" |</section>)', page, re.S
    )
    assert match, f"run {run_id} not shown"
    return match.group(0)


def test_recent_syncs_show_counts_errors_and_links(
    browser: Browser, store: StateStore, fake_airflow: FakeAirflow
) -> None:
    record_run(store)
    fake_airflow.add_run("qbo_sync", SCHEDULED, "failed")
    fake_airflow.task_instances.append(
        {
            "dag_id": "qbo_sync",
            "dag_run_id": SCHEDULED,
            "task_id": "report",
            "state": "failed",
            "map_index": -1,
        }
    )

    page = browser.get(PAGE).text
    block = run_block(page, SCHEDULED)

    assert 'data-state="failed"' in block
    header = re.findall(r'<th class="num">(\w+)</th>', block)
    assert header == ["created", "unchanged", "failed"]
    assert '<td>invoice</td><td class="num">3</td><td class="num">0</td><td class="num">1</td>' in block
    assert "INV-0007" in block and "The account period has closed" in block and "6210" in block
    assert "Reopen the period in QuickBooks" in block
    assert 'href="/dags/qbo_sync/runs/scheduled__2026-07-01T09%3A00%3A00%2B00%3A00" data-top' in block
    assert (
        'href="/dags/qbo_sync/runs/scheduled__2026-07-01T09%3A00%3A00%2B00%3A00/tasks/report" data-top'
        in block
    )
    assert '<meta http-equiv="refresh"' not in page and 'data-active="false"' in page


def test_a_run_that_died_before_its_report_shows_airflows_state(
    browser: Browser, store: StateStore, fake_airflow: FakeAirflow
) -> None:
    store.start_run("default", "qbo_sync", SCHEDULED)
    fake_airflow.add_run("qbo_sync", SCHEDULED, "failed", end_date="2026-07-01T09:05:00Z")

    block = run_block(browser.get(PAGE).text, SCHEDULED)

    assert 'data-state="failed"' in block and "ended before it wrote its report" in block


def test_a_queued_run_is_listed_and_refreshed_in_place(browser: Browser, fake_airflow: FakeAirflow) -> None:
    """No reload of the page (it would drop the message and could swallow a click): the
    page's script fetches the runs table from ``data-refresh`` while ``data-active``."""
    fake_airflow.add_run("qbo_sync", "manual__x", "queued", queued_at="2026-07-01T10:00:00Z")

    page = browser.get(PAGE).text

    assert 'data-state="queued"' in run_block(page, "manual__x")
    assert 'data-refresh="/accounting-sync/syncs/table?company=default" data-active="true"' in page
    assert "refresh" not in page.split("<body>")[0]


def test_the_runs_table_alone_renders_the_runs(
    browser: Browser, store: StateStore, fake_airflow: FakeAirflow
) -> None:
    record_run(store)
    fake_airflow.add_run("qbo_sync", SCHEDULED, "failed")
    fake_airflow.add_run("qbo_sync", "manual__x", "running", start_date="2026-07-01T10:00:00Z")

    response = browser.get(TABLE)

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section class="card" id="recent-syncs"')
    assert response.text.rstrip().endswith("</section>")
    assert 'data-active="true"' in response.text
    assert 'data-state="running"' in run_block(response.text, "manual__x")
    failed = run_block(response.text, SCHEDULED)
    assert 'data-state="failed"' in failed and "INV-0007" in failed
    assert {name: response.headers[name] for name in SECURITY_HEADERS} == SECURITY_HEADERS


def test_refreshing_the_runs_table_keeps_the_pages_message_and_forms(
    browser: Browser, fake_airflow: FakeAirflow
) -> None:
    """The table sets no cookie: the flash waits for the page, and the CSRF token the page
    was shown with still works after any number of refreshes."""
    token = browser.csrf(PAGE)
    browser.client.post(AUTO, data={"csrf_token": token, "flow": "sync", "enabled": "true"})

    table = browser.get(TABLE)
    sync_now = browser.client.post(RUN, data={"csrf_token": token, "flow": "sync"})
    browser.get(TABLE)

    assert "set-cookie" not in table.headers
    assert sync_now.status_code == 303
    assert flash(browser.get(PAGE)).startswith("ok: Sync Now: run manual__")


def test_the_runs_table_is_kept_when_airflow_cannot_be_read(
    browser: Browser, store: StateStore, fake_airflow: FakeAirflow
) -> None:
    """The script keeps the table it shows and tries again, rather than losing the runs Airflow knows."""
    record_run(store)
    fake_airflow.refuse_with = 403

    response = browser.get(TABLE)

    assert response.status_code == 503
    assert response.json()["detail"].startswith("Run states and auto-sync could not be read from Airflow.")


def test_sync_now_triggers_the_dag_as_the_signed_in_user(browser: Browser, fake_airflow: FakeAirflow) -> None:
    fake_airflow.paused["qbo_sync"] = False
    browser.client.cookies.set("_token", "the-users-airflow-jwt")

    response = browser.post(RUN, {"flow": "sync"}, page=PAGE)

    assert response.status_code == 303
    trigger = [
        call
        for call in fake_airflow.calls
        if call.method == "POST" and call.path == "/api/v2/dags/qbo_sync/dagRuns"
    ]
    assert len(trigger) == 1
    assert json.loads(trigger[0].body) == {"logical_date": None, "conf": {}}
    assert trigger[0].authorization == "Bearer the-users-airflow-jwt"
    assert flash(browser.get(PAGE)).startswith("ok: Sync Now: run manual__")


def test_sync_now_on_a_paused_dag_says_it_waits(browser: Browser, fake_airflow: FakeAirflow) -> None:
    browser.post(RUN, {"flow": "sync"}, page=PAGE)

    assert "auto-sync is paused" in flash(browser.get(PAGE))


def test_auto_sync_enables_and_pauses_the_dag(browser: Browser, fake_airflow: FakeAirflow) -> None:
    page = browser.get(PAGE).text
    assert "Enable Auto-Sync" in page and "Paused" in page

    browser.post(AUTO, {"flow": "sync", "enabled": "true"}, page=PAGE)
    enabled = browser.get(PAGE).text
    browser.post(AUTO, {"flow": "sync", "enabled": "false"}, page=PAGE)

    patches = [
        json.loads(c.body)
        for c in fake_airflow.calls
        if c.method == "PATCH" and c.path == "/api/v2/dags/qbo_sync"
    ]
    assert patches == [{"is_paused": False}, {"is_paused": True}]
    assert "Auto-sync enabled: qbo_sync runs every hour." in enabled and "Pause Auto-Sync" in enabled
    assert fake_airflow.paused["qbo_sync"] is True


def test_import_now_drives_qbo_import(browser: Browser, fake_airflow: FakeAirflow) -> None:
    browser.post(RUN, {"flow": "import"}, page=PAGE)

    assert [
        c.path
        for c in fake_airflow.calls
        if c.method == "POST" and "dagRuns" in c.path and "list" not in c.path
    ] == ["/api/v2/dags/qbo_import/dagRuns"]


def test_only_the_companys_own_dags_can_be_driven(browser: Browser, fake_airflow: FakeAirflow) -> None:
    response = browser.post(RUN, {"flow": "some_other_dag"}, page=PAGE)

    assert response.status_code == 400
    assert not [
        c for c in fake_airflow.calls if c.method != "GET" and "dagRuns" in c.path and "list" not in c.path
    ]


def test_a_dag_airflow_does_not_know_is_reported(browser: Browser, fake_airflow: FakeAirflow) -> None:
    del fake_airflow.paused["qbo_import"]

    page = browser.get(PAGE).text
    browser.post(RUN, {"flow": "import"}, page=PAGE)

    assert "not deployed" in page
    assert "Airflow does not know the DAG qbo_import" in flash(browser.get(PAGE))


def test_airflow_refusing_is_shown_and_the_recorded_runs_still_are(
    browser: Browser, store: StateStore, fake_airflow: FakeAirflow
) -> None:
    record_run(store)
    fake_airflow.refuse_with = 403

    page = browser.get(PAGE).text
    browser.post(RUN, {"flow": "sync"}, page="/accounting-sync/configure")

    assert "Airflow answered 403: Forbidden" in page
    assert "INV-0007" in run_block(page, SCHEDULED)
    assert flash(browser.get(PAGE)) == "error: Sync Now failed. Airflow answered 403: Forbidden"


@pytest.mark.parametrize("path", [RUN, AUTO])
def test_sync_actions_need_the_csrf_token(browser: Browser, fake_airflow: FakeAirflow, path: str) -> None:
    browser.get(PAGE)

    response = browser.client.post(path, data={"flow": "sync", "enabled": "true"})

    assert response.status_code == 403
    assert not [c for c in fake_airflow.calls if c.method in ("POST", "PATCH") and "list" not in c.path]


def test_the_airflow_api_is_reached_over_loopback() -> None:
    """Inside the API server the plugin calls the socket that took the request."""
    request = Request(
        {"type": "http", "server": ("10.0.0.5", 8080), "headers": [], "root_path": "/accounting-sync"}
    )
    assert loopback_url(request, "/") == "http://10.0.0.5:8080"
    assert loopback_url(request, "/airflow/") == "http://10.0.0.5:8080/airflow"
    ipv6 = Request({"type": "http", "server": ("::1", 8080), "headers": []})
    assert loopback_url(ipv6, "/") == "http://[::1]:8080"


def test_each_run_shows_its_tie_out_in_money_with_every_difference(
    browser: Browser, store: StateStore, fake_airflow: FakeAirflow
) -> None:
    from accounting_sync.common.values import utcnow
    from accounting_sync.tie_out.compare import CHANGED, Difference, TieOut

    record_run(store)
    fake_airflow.add_run("qbo_sync", SCHEDULED, "failed")
    result = TieOut(full=True, checked=2143, qbo_reads=3)
    result.differences.append(
        Difference("INV-0042", "42", "17", "total 110.00, open 110.00 USD", "total 120.00, open 120.00 USD", CHANGED, "edited in QuickBooks")
    )
    store.save_tie_out("default", "qbo_sync", SCHEDULED, utcnow(), True, result.as_json(), result.summary(), 0)

    block = run_block(browser.get(PAGE).text, SCHEDULED)

    assert "Books differ on 1 of 2,143 invoices" in block
    assert "<td>INV-0042</td><td>total 110.00, open 110.00 USD</td><td>total 120.00, open 120.00 USD</td>" in block
    assert f"<td>{CHANGED}</td><td>edited in QuickBooks</td>" in block


def test_re_sync_queues_an_invoice_the_tie_out_found_differing(
    browser: Browser, sign_in: Any, store: StateStore, fake_airflow: FakeAirflow
) -> None:
    from accounting_sync.common.values import utcnow
    from accounting_sync.store.idmap import ORIGIN_INVOICED, MappedRecord
    from accounting_sync.tie_out.compare import CHANGED, Difference, TieOut
    from accounting_sync.tie_out.resync import RESYNC

    record_run(store)
    fake_airflow.add_run("qbo_sync", SCHEDULED, "failed")
    store.put_mappings("default", "invoice", [MappedRecord("42", "17", "3", "hash", ORIGIN_INVOICED)])
    result = TieOut(full=True, checked=1)
    result.differences.append(Difference("INV-0042", "42", "17", "total 110.00", "total 120.00", CHANGED, "edited", True))
    store.save_tie_out("default", "qbo_sync", SCHEDULED, utcnow(), True, result.as_json(), result.summary(), 0)

    viewer_page = sign_in("viewer", "vera").get(PAGE).text
    editor = sign_in("op")
    assert ">Re-sync</button>" in run_block(editor.get(PAGE).text, SCHEDULED)
    queued = editor.post("/accounting-sync/books/resync?company=default", {"invoiced_id": "42", "document": "INV-0042"}, page=PAGE)

    assert ">Re-sync</button>" not in run_block(viewer_page, SCHEDULED)
    assert queued.status_code == 303 and "INV-0042 is queued" in flash(editor.get(PAGE))
    assert store.get_mapping("default", "invoice", "42").content_hash == RESYNC  # type: ignore[union-attr]
    assert store.unresolved_source_ids("default", "qbo_sync", "invoice") >= {"42"}
    assert store.audit_trail("default")[0].action == "resync"
    missing = editor.post("/accounting-sync/books/resync?company=default", {"invoiced_id": "nope"}, page=PAGE)
    assert missing.status_code == 404


def test_each_difference_links_to_its_record_on_invoiced_and_in_quickbooks(
    browser: Browser, store: StateStore, fake_airflow: FakeAirflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connections to Intuit's and Invoiced's sandboxes: the app URLs of those environments."""
    from accounting_sync.common.values import utcnow
    from accounting_sync.tie_out.compare import CHANGED, UNEXPLAINED, Difference, TieOut

    monkeypatch.setenv("AIRFLOW_CONN_QUICKBOOKS_DEFAULT", json.dumps(
        {"conn_type": "quickbooks", "login": "client", "password": "secret", "extra": {"environment": "sandbox"}}))
    monkeypatch.setenv("AIRFLOW_CONN_INVOICED_DEFAULT", json.dumps(
        {"conn_type": "invoiced", "host": "https://api.sandbox.invoiced.com", "password": "key"}))
    record_run(store)
    fake_airflow.add_run("qbo_sync", SCHEDULED, "failed")
    result = TieOut(full=True, checked=2, payments=1)
    result.differences += [
        Difference("INV-0042", "42", "17", "total 110.00", "total 120.00", CHANGED, "edited", True),
        Difference("payment P-7", "7", "31", "amount 5.00", "deleted", CHANGED, "deleted in QuickBooks",
                   object_type="payment"),
        Difference("customer Acme", "", "9", "open 5.00", "balance 6.00", UNEXPLAINED, "defect", object_type="customer"),
    ]
    store.save_tie_out("default", "qbo_sync", SCHEDULED, utcnow(), True, result.as_json(), result.summary(), 1)

    rows = re.findall(r"<tr><td>(.*?)</td>", run_block(browser.get(PAGE).text, SCHEDULED), re.S)

    invoice, payment, customer = (row for row in rows if row.startswith(("INV-", "payment ", "customer ")))
    assert 'href="https://app.sandbox.invoiced.com/invoices/42"' in invoice
    assert 'href="https://app.sandbox.qbo.intuit.com/app/invoice?txnId=17"' in invoice
    assert 'href="https://app.sandbox.invoiced.com/payments/7"' in payment
    assert 'href="https://app.sandbox.qbo.intuit.com/app/recvpayment?txnId=31"' in payment
    assert 'href="https://app.sandbox.qbo.intuit.com/app/customerdetail?nameId=9"' in customer
    assert "invoiced.com" not in customer  # merged customers have no one Invoiced record
