"""The Accounting Sync pages in a real browser, inside a real Airflow.

Headless Debian Chromium (Playwright, never a downloaded browser) signs in to an Airflow
started by the test with both sandboxes, opens Accounting Sync from the navigation,
connects QuickBooks through the sandbox's consent page, saves a mapping, enables
auto-sync, presses Sync Now and waits for the finished run with its counts.

Screenshots of every page go to artifacts/screenshots/; with UPDATE_DOCS_SCREENSHOTS=1
they are also copied to docs/img/ for the README.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FrameLocator, Page, expect, sync_playwright

from tests.e2e.airflow_harness import REPO, Airflow, running_airflow

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
RUN_TIMEOUT_MS = 180_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(420),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium package is not installed"),
]


@pytest.fixture(scope="module")
def airflow() -> Iterator[Airflow]:
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


def wait_for_dag(airflow: Airflow, dag_id: str, seconds: float = 90) -> None:
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


def test_connect_configure_and_sync_from_the_airflow_ui(airflow: Airflow, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1100})
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

    # Recent Syncs: enable auto-sync, press Sync Now, wait for the finished run.
    wait_for_dag(airflow, "qbo_sync")
    app.get_by_role("link", name="Recent Syncs").click()
    sync_row = app.locator("#control-sync")
    sync_row.get_by_role("button", name="Enable Auto-Sync").click()
    expect(app.locator(".flash")).to_have_text("Auto-sync enabled: qbo_sync runs every hour.")
    expect(sync_row.locator(".badge")).to_have_text("On · hourly")
    sync_row.get_by_role("button", name="Sync Now").click()
    expect(app.locator(".flash")).to_contain_text("Sync Now: run manual__")
    run_id = re.search(r"run (manual__\S+) started", app.locator(".flash").inner_text())
    assert run_id, app.locator(".flash").inner_text()

    manual_run = app.locator(f'.run[data-run-id="{run_id.group(1)}"]')
    expect(manual_run).to_have_attribute("data-state", re.compile("success|failed"), timeout=RUN_TIMEOUT_MS)
    expect(app.locator('.run[data-state="running"], .run[data-state="queued"]')).to_have_count(
        0, timeout=RUN_TIMEOUT_MS
    )
    shoot(page, "05-recent-syncs")
    assert manual_run.get_attribute("data-state") == "success", manual_run.inner_text()
    expect(manual_run.locator("table.counts td", has_text="invoice")).to_have_count(1)
    assert max(created_invoices(app)) > 0  # whichever run came first wrote the invoices

    # The run's task log opens in Airflow itself, outside the plugin's frame.
    manual_run.get_by_role("link", name="report log").click()
    page.wait_for_url(re.compile(rf"{re.escape(airflow.url)}/dags/qbo_sync/runs/.+/tasks/report"))
    shoot(page, "06-task-log")

    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        for shot in sorted(SHOTS.glob("0*.png")):
            shutil.copy(shot, DOCS_IMG / f"ui-{shot.name}")
