"""qbo_import when Invoiced's answer to a create is lost, as the real service loses it.

Invoiced keeps a key's answer for a day, a 500 included, and holds no lock per key: a
same-key retry of a 500 replays the 500, and one sent while a slow first attempt still
runs writes a second record (real-service-behaviour.md §2.2). The import must read back
instead. Each test ends with exactly one record per QBO record and matching balances."""

from __future__ import annotations

import time
from typing import Any

import pytest

from accounting_sync.invoiced.client import InvoicedClient
from accounting_sync.qbo_import.pipeline import ImportFailed
from tests.e2e.import_harness import Pipelines, fault_first_post

DEMO_OPEN_INVOICES = 13
DEMO_CUSTOMERS = 10
DEMO_PAYMENTS = 3  # the three partly paid demo invoices
DAY_AND_AN_HOUR = 25 * 3600


# Every test with and without a lock per key (the service has none).
pytestmark = pytest.mark.parametrize(
    "switched_boxes", [{"idempotency_lock": False}, {"idempotency_lock": True}],
    ids=["no-key-lock", "key-lock"], indirect=True, scope="module",
)


def assert_imported_once(pipes: Pipelines) -> None:
    pipes.boxes.faults("invoiced", probability=0, kinds=[])
    assert len(pipes.invoiced("GET", "/customers")) == DEMO_CUSTOMERS
    invoices = pipes.invoiced("GET", "/invoices")
    assert len(invoices) == DEMO_OPEN_INVOICES
    assert len([p for p in pipes.invoiced("GET", "/payments") if not p.get("voided")]) == DEMO_PAYMENTS
    for invoice in invoices:
        assert invoice["balance"] == pipes.qbo_invoice(invoice["number"])["Balance"], invoice["number"]


@pytest.mark.parametrize("target", ["/customers", "/contacts", "/invoices", "/payments"])
def test_a_500_after_the_write_is_read_back_not_written_again(
    pipes: Pipelines, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """commit_500: the record is stored, then 500 is answered and cached under the key."""
    fault_first_post(pipes, monkeypatch, lambda path: path.endswith(target), kinds=["commit_500"])

    pipes.run_import()

    statuses = [row["status"] for row in pipes.invoiced_writes() if row["path"].endswith(target)]
    assert 500 in statuses
    assert_imported_once(pipes)


def test_a_500_before_the_write_is_sent_again_under_a_fresh_key(
    pipes: Pipelines, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cached 500 would answer every same-key retry for a day."""
    fault_first_post(pipes, monkeypatch, lambda path: path == "/payments", kinds=["500"])

    pipes.run_import()

    payments = [row for row in pipes.invoiced_writes() if row["path"] == "/payments"]
    assert {row["status"] for row in payments} == {201, 500}
    assert_imported_once(pipes)


def test_a_write_still_running_when_the_client_gives_up_is_never_written_twice(
    pipes: Pipelines, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The payment's POST outlasts the client's timeout; the first attempt finishes later.
    Nothing is resent in that run, and the next run, a day later (the key forgotten),
    reads back before writing."""
    boxes = pipes.boxes
    fast = InvoicedClient.__init__

    def impatient(self: InvoicedClient, config: Any, *args: Any, **kwargs: Any) -> None:
        fast(self, type(config)(api_base=config.api_base, api_key=config.api_key, timeout=1.5), *args, **kwargs)

    monkeypatch.setattr(InvoicedClient, "__init__", impatient)
    fault_first_post(pipes, monkeypatch, lambda path: path == "/payments", kinds=["slow"], slow_seconds=4.0)

    with pytest.raises(ImportFailed, match="did not answer"):
        pipes.run_import()

    deadline = time.monotonic() + 30
    while len(pipes.invoiced("GET", "/payments")) < DEMO_PAYMENTS and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(pipes.invoiced("GET", "/payments")) == DEMO_PAYMENTS  # the first attempt did write, late
    monkeypatch.undo()  # the next run is patient again
    boxes.invoiced_clock(advance_seconds=DAY_AND_AN_HOUR)
    pipes.run_import()

    assert_imported_once(pipes)
