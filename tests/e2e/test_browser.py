"""The Accounting Sync pages in a real browser, inside a real Airflow.

Headless Debian Chromium (Playwright, never a downloaded browser) signs in to an Airflow
started by the test with both sandboxes, opens Accounting Sync from the navigation,
connects QuickBooks through the sandbox's consent page, saves a mapping, enables
auto-sync, presses Sync Now and waits for the finished run with its counts.

Every wait is on what a user waits on (a message, a run in Recent Syncs with its state)
with timeouts that hold on a busy 2-core machine: right after auto-sync is enabled Airflow
starts the first scheduled run, and Sync Now then takes seconds. With BROWSER_STRESS=1
(`make browser-stress`) every core is kept busy for the whole module, Airflow included.

Screenshots of every page go to artifacts/screenshots/; with UPDATE_DOCS_SCREENSHOTS=1
they are also copied to docs/img/ for the README.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Expect, FrameLocator, Locator, Page, Route, sync_playwright

from tests.e2e.airflow_harness import REPO, Airflow, running_airflow
from tests.support.cpu_burn import busy_cores

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = REPO / "artifacts" / "screenshots"
DOCS_IMG = REPO / "docs" / "img"
STEP_TIMEOUT_MS = 60_000  # a page or an action (Sync Now answers in seconds on a busy machine)
RUN_APPEARS_MS = 90_000  # Sync Now's run in Recent Syncs, refreshed every 10 s
RUN_TIMEOUT_MS = 300_000  # the scheduled run first (one run at a time), then the manual one
SYNC_NOW = re.compile(r"/accounting-sync/syncs/run\?")

expect = Expect()  # this module's own, so that its default timeout leaves other tests alone
expect.set_options(timeout=STEP_TIMEOUT_MS)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(900),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium package is not installed"),
]


@pytest.fixture(scope="module")
def machine_load() -> Iterator[None]:
    """BROWSER_STRESS=1: every core busy from before Airflow starts until it has stopped."""
    with busy_cores() if os.environ.get("BROWSER_STRESS") == "1" else contextlib.nullcontext():
        yield


@pytest.fixture(scope="module")
def airflow(machine_load: None) -> Iterator[Airflow]:
    with running_airflow() as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def sign_in(page: Page, airflow: Airflow) -> None:
    page.goto(f"{airflow.url}/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", airflow.password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{airflow.url}/")


def wait_for_dag(airflow: Airflow, dag_id: str, seconds: float = 180) -> None:
    """The DAG processor has to parse the DAG before Airflow can run it."""
    deadline = time.monotonic() + seconds
    while not any(dag["dag_id"] == dag_id for dag in airflow.api("dags")["dags"]):
        if time.monotonic() > deadline:
            pytest.fail(f"{dag_id} was not parsed:\n{airflow.log_tail()}")
        time.sleep(1)


def created_invoices(app: FrameLocator) -> list[int]:
    """The 'created' count of the invoice row of each run's counts table."""
    return list(
        app.locator("table.counts").evaluate_all(
            """tables => tables.map(table => {
                const heads = [...table.querySelectorAll("th")].map(th => th.textContent.trim());
                const row = [...table.querySelectorAll("tbody tr")].find(tr => tr.cells[0].textContent === "invoice");
                const column = heads.indexOf("created");
                return row && column > 0 ? Number(row.cells[column].textContent) : 0;
            })"""
        )
    )


def issue_in_euros(airflow: Airflow, number: str) -> None:
    """An invoice in a currency the (single-currency) QBO company does not have."""
    key = requests.get(f"{airflow.invoiced_url}/_sandbox/info", timeout=10).json()["api_key"]
    customer = requests.get(f"{airflow.invoiced_url}/customers", params={"per_page": 1}, auth=(key, ""), timeout=10)
    body = {"customer": customer.json()[0]["id"], "number": number, "currency": "eur",
            "items": [{"name": "Consulting", "unit_cost": 80}]}
    requests.post(f"{airflow.invoiced_url}/invoices", json=body, auth=(key, ""), timeout=10).raise_for_status()


def until_failing(app: FrameLocator, number: str) -> Locator:
    """The record's row on Failing records, once a run has tried it (the page is reopened
    until then: it does not refresh itself)."""
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    row = app.locator("tr", has_text=number)
    while True:
        app.get_by_role("link", name="Failing records").click()
        expect(app.locator("h2", has_text="Every record still failing")).to_be_visible()
        if row.count() or time.monotonic() > deadline:
            expect(row).to_have_count(1, timeout=1000)
            return row
        time.sleep(5)


def test_connect_configure_and_sync_from_the_airflow_ui(airflow: Airflow, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1100})
    page.set_default_timeout(STEP_TIMEOUT_MS)
    sign_in(page, airflow)

    # Connection: opened from Airflow's navigation, shown inside the Airflow UI.
    page.get_by_role("link", name="Accounting Sync").click()
    page.wait_for_url(f"{airflow.url}/plugin/accounting-sync**")
    app: FrameLocator = page.frame_locator("iframe[title='Accounting Sync']")
    expect(app.locator(".badge").first).to_have_text("Not connected")
    shoot(page, "01-connection")

    # Connect: the consent page of the (sandbox) Intuit, in the whole window.
    app.get_by_role("button", name="Connect to QuickBooks").click()
    page.wait_for_url(f"{airflow.qbo_url}/connect/oauth2?**")
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    shoot(page, "02-intuit-authorize")
    page.get_by_role("button", name="Authorize").click()

    # Back in Airflow, connected, with the company's name from CompanyInfo.
    page.wait_for_url(f"{airflow.url}/plugin/accounting-sync/**")
    expect(app.locator(".flash")).to_have_text("Connected to QuickBooks company Sandbox Company US.")
    expect(app.locator("#qbo-company")).to_have_text("Sandbox Company US")
    shoot(page, "03-connected")

    # Configure: a mapping chosen from the company's own accounts.
    app.get_by_role("link", name="Configure").first.click()
    app.get_by_label("Income account").select_option("Services")
    app.get_by_label("Duplicate customer names").select_option("merge")
    app.get_by_role("button", name="Save settings").click()
    expect(app.locator(".flash")).to_have_text("Settings saved: the next sync uses them.")
    expect(app.get_by_label("Income account")).to_have_value("Services")
    shoot(page, "04-configure")

    # Recent Syncs: enable auto-sync, which starts the first scheduled run at once.
    wait_for_dag(airflow, "qbo_sync")
    app.get_by_role("link", name="Recent Syncs").click()
    sync_row = app.locator("#control-sync")
    sync_row.get_by_role("button", name="Enable Auto-Sync").click()
    expect(app.locator(".flash")).to_have_text("Auto-sync enabled: qbo_sync runs every hour.")
    expect(sync_row.locator(".badge")).to_have_text("On · hourly")

    # Sync Now, held on its way to the server: the button shows that it is working.
    held: list[Route] = []
    page.route(SYNC_NOW, lambda route: held.append(route))
    sync_row.get_by_role("button", name="Sync Now").click()
    expect(sync_row.get_by_role("button", name="Starting…")).to_be_disabled()
    for route in held:
        route.continue_()
    page.unroute(SYNC_NOW)  # one not held by now goes straight through

    # Then what the user waits on: the message, then the run in Recent Syncs with its state.
    flash = app.locator(".flash")
    expect(flash).to_contain_text("Sync Now: run manual__")
    run_id = re.search(r"run (manual__\S+) started", flash.inner_text())
    assert run_id, flash.inner_text()
    manual_run = app.locator(f'.run[data-run-id="{run_id.group(1)}"]')
    expect(manual_run).to_have_attribute("data-state", re.compile(r"\w+"), timeout=RUN_APPEARS_MS)

    # Runs are refreshed in place, never by reloading the page: the mark set on this
    # document and the message survive until every run has finished.
    app.locator("html").evaluate("html => { html.dataset.sameDocument = 'yes'; }")
    expect(manual_run).to_have_attribute("data-state", re.compile("success|failed"), timeout=RUN_TIMEOUT_MS)
    expect(app.locator('.run[data-state="running"], .run[data-state="queued"]')).to_have_count(
        0, timeout=RUN_TIMEOUT_MS
    )
    assert app.locator("html").get_attribute("data-same-document") == "yes", "the page was reloaded"
    expect(flash).to_contain_text(f"Sync Now: run {run_id.group(1)} started")
    shoot(page, "05-recent-syncs")
    assert manual_run.get_attribute("data-state") == "success", manual_run.inner_text()
    expect(manual_run.locator("table.counts td", has_text="invoice")).to_have_count(1)
    assert max(created_invoices(app)) > 0  # whichever run came first wrote the invoices

    # A record that cannot be synced (a currency the QBO company lacks): Ignore, then Retry.
    issue_in_euros(airflow, "EUR-0001")
    app.get_by_role("link", name="Recent Syncs").click()
    sync_row.get_by_role("button", name="Sync Now").click()
    expect(app.locator(".flash")).to_contain_text("Sync Now: run manual__")
    failing = until_failing(app, "EUR-0001")
    failing.get_by_role("button", name="Ignore").click()
    expect(app.locator(".flash")).to_contain_text("invoice EUR-0001 is ignored")
    expect(app.locator("tr", has_text="EUR-0001")).to_contain_text("ignored by admin")
    shoot(page, "07-failing-records")
    app.locator("tr", has_text="EUR-0001").get_by_role("button", name="Retry").click()
    expect(app.locator(".flash")).to_contain_text("invoice EUR-0001 is queued for the next run")

    # The run's task log opens in Airflow itself, outside the plugin's frame.
    app.get_by_role("link", name="Recent Syncs").click()
    manual_run = app.locator(f'.run[data-run-id="{run_id.group(1)}"]')
    manual_run.get_by_role("link", name="report log").click()
    page.wait_for_url(re.compile(rf"{re.escape(airflow.url)}/dags/qbo_sync/runs/.+/tasks/report"))
    shoot(page, "06-task-log")

    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        for shot in sorted(SHOTS.glob("0*.png")):
            shutil.copy(shot, DOCS_IMG / f"ui-{shot.name}")
