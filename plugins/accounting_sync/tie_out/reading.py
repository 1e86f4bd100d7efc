"""What a tie-out reads of QuickBooks, frugally: Intuit meters reads.

A full tie-out reads every invoice and credit memo, a page of 1000 at a time and several
pages at once, never a GET per record (payments: ``tie_out.payments``). An incremental one reads what QuickBooks changed since the last tie-out (which
includes everything the run wrote): one change-data-capture read for invoices, credit
memos and payments together, deletions included as tombstones. A type CDC cannot answer
for sure is read by a changed-since query instead, as qbo_import does: when the moment is
older than CDC reaches, when QBO refuses the read, or when the answer reached CDC's
1,000-object cap (the rest would be cut silently); a query does not show deletions. What
the run touched that did not change there is read by id, 200 to a query. Only what the
comparison needs of each row is kept: 100,000 rows in full would not fit a worker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from accounting_sync.common.values import utcnow
from accounting_sync.quickbooks.client import CDC_REACH, Changes, QuickBooksClient, rows_by_id
from accounting_sync.quickbooks.faults import QboFault

log = logging.getLogger(__name__)

FIELDS = {
    "Invoice": ("Id", "DocNumber", "TotalAmt", "Balance", "CurrencyRef", "SyncToken", "CustomerRef", "LinkedTxn",
                "TxnTaxDetail"),
    "CreditMemo": ("Id", "DocNumber", "TotalAmt", "RemainingCredit", "SyncToken", "TxnTaxDetail"),
    "Payment": ("Id", "TotalAmt", "CurrencyRef", "SyncToken", "Line"),
}
"""What a tie-out keeps of each QBO row."""


@dataclass
class QboSide:
    """The QBO rows of one tie-out by type and Id, the Ids CDC says were deleted, and QBO's
    clock when the first read began (where the next incremental tie-out starts)."""

    rows: dict[str, dict[str, dict[str, Any]]]
    deleted: dict[str, set[str]] = field(default_factory=dict)
    clock: datetime | None = None

    def began(self, moment: datetime | None) -> None:
        if moment is not None and (self.clock is None or moment < self.clock):
            self.clock = moment

    def take(self, entity: str, rows: Iterable[dict[str, Any]]) -> None:
        self.rows.setdefault(entity, {}).update((str(row["Id"]), slim(entity, row)) for row in rows)

    def add_by_id(self, qbo: QuickBooksClient, entity: str, ids: Iterable[str]) -> None:
        """The current rows of records the run touched that this read has not seen."""
        seen = self.rows.get(entity, {}).keys() | self.deleted.get(entity, set())
        self.take(entity, rows_by_id(qbo, entity, set(ids) - seen))


def read_all(qbo: QuickBooksClient, expected: dict[str, int]) -> QboSide:
    """Every row of each type; ``expected``: about how many there are (the id map's count),
    so that their pages are asked several at a time."""
    side = QboSide({})
    for entity, count in expected.items():
        side.take(entity, qbo.query_rows(entity, began=side.began, expected=count))
    return side


def read_changed(qbo: QuickBooksClient, entities: Iterable[str], since: datetime) -> QboSide:
    """What changed since ``since`` (QBO's clock): one CDC read, queries for what it cannot answer."""
    names = list(entities)
    side = QboSide({entity: {} for entity in names}, {entity: set() for entity in names})
    changes = _cdc(qbo, names, since) if utcnow() - since < CDC_REACH else None
    if changes is not None:
        side.began(changes.time)
    for entity in names:
        if changes is not None and changes.complete(entity):
            side.take(entity, changes.changed(entity))
            side.deleted[entity] = changes.deleted(entity)
        else:
            where = f"MetaData.LastUpdatedTime >= '{since.isoformat(timespec='seconds')}'"
            side.take(entity, qbo.query_rows(entity, where, began=side.began))
    return side


def _cdc(qbo: QuickBooksClient, entities: list[str], since: datetime) -> Changes | None:
    try:
        return qbo.cdc(entities, since)
    except QboFault as refused:
        if refused.status != 400:
            raise
        log.warning("QuickBooks refused the change-data-capture read (%s): reading by queries", refused)
        return None


def slim(entity: str, row: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``FIELDS``; of the tax detail only the total, of payment lines only
    what they apply where."""
    kept = {key: row[key] for key in FIELDS[entity] if key in row}
    if isinstance(kept.get("TxnTaxDetail"), dict):
        kept["TxnTaxDetail"] = {"TotalTax": kept["TxnTaxDetail"].get("TotalTax", 0)}
    if entity == "Payment":
        kept["Line"] = [{"Amount": line.get("Amount"), "LinkedTxn": line.get("LinkedTxn") or []}
                        for line in kept.get("Line") or []]
    return kept
