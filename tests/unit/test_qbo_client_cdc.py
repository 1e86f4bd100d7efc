"""The client's change data capture with a fake transport: one read for all types, the
answer split per type into changes and tombstones, QBO's clock, and when an answer may
have been cut at Intuit's 1,000-object cap."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from accounting_sync.quickbooks.client import CDC_LIMIT
from accounting_sync.quickbooks.faults import QboFault
from tests.support.fake_http import response
from tests.support.fake_qbo import FakeQbo, fault, qbo_client

pytestmark = pytest.mark.usefixtures("no_waits")

PST = timezone(timedelta(hours=-8))
SINCE = datetime(2026, 3, 1, 9, 0, tzinfo=PST)


def cdc_answer(*entries: dict[str, Any], time: str = "2026-03-01T10:00:01.123-08:00") -> Any:
    return response(200, {"CDCResponse": [{"QueryResponse": list(entries)}], "time": time})


def invoices(count: int, deleted: int = 0) -> list[dict[str, Any]]:
    live = [{"Id": str(n), "SyncToken": "0", "Balance": 10} for n in range(count)]
    gone = [{"domain": "QBO", "status": "Deleted", "Id": str(1000 + n),
             "MetaData": {"LastUpdatedTime": "2026-03-01T09:30:00-08:00"}} for n in range(deleted)]
    return live + gone


def test_one_request_reads_every_type_and_splits_changes_from_tombstones() -> None:
    session = FakeQbo(cdc_answer(
        {"Customer": [{"Id": "7", "DisplayName": "Acme"}], "startPosition": 1, "maxResults": 1, "totalCount": 1},
        {"Invoice": invoices(2, deleted=1), "startPosition": 1, "maxResults": 3, "totalCount": 3},
    ))
    client = qbo_client(session)

    changes = client.cdc(["Customer", "Invoice"], SINCE)

    [sent] = session.sent
    assert (sent.method, sent.path) == ("GET", "cdc")
    assert sent.params["entities"] == "Customer,Invoice"
    assert sent.params["changedSince"] == "2026-03-01T09:00:00-08:00"
    assert [row["Id"] for row in changes.changed("Customer")] == ["7"]
    assert [row["Id"] for row in changes.changed("Invoice")] == ["0", "1"]
    assert changes.deleted("Invoice") == {"1000"} and changes.deleted("Customer") == set()
    assert changes.time == datetime(2026, 3, 1, 10, 0, 1, 123000, tzinfo=PST)
    assert changes.complete("Customer") and changes.complete("Invoice")
    assert client.calls["cdc"] == 1


def test_an_answer_without_changes_is_empty_and_complete() -> None:
    changes = qbo_client(FakeQbo(cdc_answer({}))).cdc(["Customer", "Invoice"], SINCE)

    assert changes.records == {"Customer": [], "Invoice": []}
    assert changes.complete("Invoice") and changes.total == 0


@pytest.mark.parametrize(("customers", "invoice_count", "complete"), [
    (0, CDC_LIMIT - 1, True),
    (0, CDC_LIMIT, False),  # one type at the cap
    (10, CDC_LIMIT - 10, False),  # the types together at the cap: the cap may be shared
])
def test_an_answer_at_the_cap_may_have_been_cut(customers: int, invoice_count: int, complete: bool) -> None:
    entries = [{"Customer": [{"Id": f"c{n}"} for n in range(customers)]} if customers else {},
               {"Invoice": invoices(invoice_count)}]
    changes = qbo_client(FakeQbo(cdc_answer(*entries))).cdc(["Customer", "Invoice"], SINCE)

    assert changes.complete("Invoice") is complete
    assert changes.complete("Customer") is complete


def test_a_refused_look_back_is_a_permanent_fault() -> None:
    session = FakeQbo(fault(400, "500", "Unsupported Operation"))

    with pytest.raises(QboFault) as refused:
        qbo_client(session).cdc(["Invoice"], SINCE - timedelta(days=31))

    assert refused.value.status == 400 and not refused.value.transient
    assert len(session.sent) == 1  # not retried


def test_a_query_listing_reports_the_clock_of_its_first_page() -> None:
    page = {"QueryResponse": {"Invoice": [{"Id": "1"}]}, "time": "2026-03-01T10:00:00.500-08:00"}
    heard: list[datetime | None] = []

    rows = list(qbo_client(FakeQbo(response(200, page))).query_rows("Invoice", began=heard.append))

    assert rows == [{"Id": "1"}]
    assert heard == [datetime(2026, 3, 1, 10, 0, 0, 500000, tzinfo=PST)]
