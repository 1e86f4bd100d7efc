"""A long QBO listing with a fake transport: the pages the caller predicts are asked
several at a time, the rows still arrive in order, a prediction that was too high costs
only a few empty pages and one that was too low still reads everything."""

from __future__ import annotations

import re
import threading

import pytest
import requests

from accounting_sync.quickbooks.client import PAGE_SIZE, QUERY_IN_FLIGHT
from tests.support.fake_qbo import ConcurrentQbo, Sent, qbo_client, rows

pytestmark = pytest.mark.usefixtures("no_waits")


def listing(count: int, together: threading.Barrier | None = None) -> ConcurrentQbo:
    """QBO holding ``count`` invoices; with ``together``, the first pages answer only once
    that many of them are in flight at once (a listing read page by page would hang)."""
    invoices = [{"Id": str(n)} for n in range(1, count + 1)]

    def answer(sent: Sent) -> requests.Response:
        start = int(re.search(r"STARTPOSITION (\d+)", str(sent.body)).group(1))  # type: ignore[union-attr]
        if together is not None and start <= together.parties * PAGE_SIZE:
            together.wait(timeout=30)
        return rows("Invoice", invoices[start - 1 : start - 1 + PAGE_SIZE])

    return ConcurrentQbo(answer)


def test_predicted_pages_are_asked_together_and_arrive_in_order() -> None:
    session = listing(3 * PAGE_SIZE + 500, threading.Barrier(QUERY_IN_FLIGHT))

    found = [row["Id"] for row in qbo_client(session).query_rows("Invoice", expected=3 * PAGE_SIZE + 500)]

    assert found == [str(n) for n in range(1, 3 * PAGE_SIZE + 501)]
    assert len(session.sent) == 4 and session.peak == QUERY_IN_FLIGHT


def test_a_prediction_too_high_costs_at_most_a_window_of_empty_pages() -> None:
    session = listing(PAGE_SIZE + 10)

    found = list(qbo_client(session).query_rows("Invoice", expected=20 * PAGE_SIZE))

    assert len(found) == PAGE_SIZE + 10
    assert 2 <= len(session.sent) <= 2 + QUERY_IN_FLIGHT - 1


def test_a_prediction_too_low_still_reads_every_page() -> None:
    session = listing(2 * PAGE_SIZE + 1)

    found = list(qbo_client(session).query_rows("Invoice", expected=PAGE_SIZE + 1))

    assert len(found) == 2 * PAGE_SIZE + 1 and len(session.sent) == 3


def test_without_a_prediction_pages_are_read_one_after_the_other() -> None:
    session = listing(2 * PAGE_SIZE)

    assert len(list(qbo_client(session).query_rows("Invoice"))) == 2 * PAGE_SIZE
    assert len(session.sent) == 3 and session.peak == 1
