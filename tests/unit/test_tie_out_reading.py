"""What an incremental tie-out reads of QuickBooks: one change-data-capture read for every
type, and changed-since queries for a type that read cannot answer for sure."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from accounting_sync.common.values import utcnow
from accounting_sync.quickbooks.client import CDC_LIMIT, Changes
from accounting_sync.quickbooks.faults import QboFault
from accounting_sync.tie_out.reading import read_changed

ENTITIES = ["Invoice", "Payment"]


class Client:
    """Answers ``cdc`` with ``changes`` (or raises it) and every query with one row."""

    def __init__(self, changes: Changes | Exception) -> None:
        self.changes, self.cdc_calls, self.queries = changes, 0, []

    def cdc(self, entities: list[str], since: datetime) -> Changes:
        self.cdc_calls += 1
        if isinstance(self.changes, Exception):
            raise self.changes
        return self.changes

    def query_rows(self, entity: str, where: str = "", began: Callable[[datetime | None], None] | None = None
                   ) -> Iterator[dict[str, Any]]:
        self.queries.append(entity)
        if began is not None:
            began(utcnow())
        yield {"Id": "q", "TotalAmt": 1, "SyncToken": "0"}


def changes(invoices: int = 1) -> Changes:
    invoice = {"Id": "1", "TotalAmt": 5, "SyncToken": "2", "Line": [{"Amount": 5}],
               "TxnTaxDetail": {"TotalTax": 0.5, "TaxLine": [{"Amount": 0.5}]}}
    payment = {"Id": "9", "TotalAmt": 5, "SyncToken": "0", "PrivateNote": "x",
               "Line": [{"Amount": 5, "LineEx": {}, "LinkedTxn": [{"TxnId": "1", "TxnType": "Invoice"}]}]}
    gone = {"Id": "8", "status": "Deleted", "MetaData": {"LastUpdatedTime": "2026-03-01T09:30:00-08:00"}}
    rows = [invoice] + [{**invoice, "Id": str(10 + n)} for n in range(invoices - 1)]
    return Changes({"Invoice": rows, "Payment": [payment, gone]}, utcnow())


def test_one_read_answers_every_type_with_deletions_and_only_what_is_compared() -> None:
    client = Client(changes())

    side = read_changed(client, ENTITIES, utcnow() - timedelta(hours=1))  # type: ignore[arg-type]

    assert (client.cdc_calls, client.queries) == (1, [])
    assert side.rows["Invoice"]["1"] == {"Id": "1", "TotalAmt": 5, "SyncToken": "2", "TxnTaxDetail": {"TotalTax": 0.5}}
    assert side.rows["Payment"]["9"]["Line"] == [{"Amount": 5, "LinkedTxn": [{"TxnId": "1", "TxnType": "Invoice"}]}]
    assert side.deleted == {"Invoice": set(), "Payment": {"8"}} and side.clock is not None


@pytest.mark.parametrize(
    ("answer", "since"),
    [
        (changes(invoices=CDC_LIMIT), timedelta(hours=1)),  # at the cap: the rest may be cut
        (QboFault(400, "500", "Operation cdc with changedSince date ... is not supported."), timedelta(hours=1)),
        (changes(), timedelta(days=29, hours=1)),  # beyond CDC's reach, less a day for the clocks
    ],
    ids=["capped", "refused", "too-old"],
)
def test_what_cdc_cannot_answer_for_sure_is_queried(answer: Changes | Exception, since: timedelta) -> None:
    client = Client(answer)

    side = read_changed(client, ENTITIES, utcnow() - since)  # type: ignore[arg-type]

    assert client.queries == ENTITIES and set(side.rows["Invoice"]) == {"q"}
    assert client.cdc_calls == (0 if since > timedelta(days=2) else 1)


def test_a_cdc_failure_other_than_a_refusal_is_raised() -> None:
    with pytest.raises(QboFault):
        read_changed(Client(QboFault(503, "transient", "QuickBooks kept failing")), ENTITIES,  # type: ignore[arg-type]
                     utcnow() - timedelta(hours=1))
