"""Items to map are found in QBO by SKU, then by name: a few with a query per 40 of each,
many with one read of the whole item list (fewer reads, the same matches)."""

from __future__ import annotations

from typing import Any

import pytest

from accounting_sync.config.settings import resolve_settings
from accounting_sync.qbo_sync.setup import ITEMS_LISTED_WHOLE, QboSetup
from accounting_sync.qbo_sync.writer import BatchWriter
from accounting_sync.store.facade import StateStore
from tests.support.fake_qbo import FakeQbo, qbo_client, rows

pytestmark = pytest.mark.usefixtures("no_waits")

COMPANY = "default"


def in_qbo(count: int) -> list[dict[str, Any]]:
    """QBO's items: even ones carry their SKU, odd ones are known by name only."""
    return [{"Id": str(n), "Name": f"Item {n}", "Sku": f"S{n}" if n % 2 == 0 else None, "SyncToken": "0"}
            for n in range(count)]


def keys(count: int) -> dict[str, str]:
    return {(f"sku:S{n}" if n % 2 == 0 else f"name:item {n}"): f"Item {n}" for n in range(count)}


def mapped(store: StateStore, wanted: dict[str, str], session: FakeQbo) -> dict[str, str]:
    qbo = QboSetup(store, qbo_client(session), COMPANY, resolve_settings({}))
    failures = qbo.ensure_items(set(wanted), wanted, lambda *a, **k: BatchWriter(store, qbo.qbo, COMPANY, "qbo_sync",
                                                                                 "manual__1", *a, **k))
    assert failures == {}
    return {key: record.qbo_id for key, record in store.get_mappings(COMPANY, "item", set(wanted)).items()}


def test_a_few_items_are_looked_up_by_sku_then_by_name(store: StateStore) -> None:
    items = in_qbo(4)
    session = FakeQbo(rows("Item", [items[0], items[2]]), rows("Item", [items[1], items[3]]))

    assert mapped(store, keys(4), session) == {"sku:S0": "0", "name:item 1": "1", "sku:S2": "2", "name:item 3": "3"}
    assert ["Sku IN" in s.body for s in session.sent] == [True, False]


def test_many_items_are_found_in_one_read_of_the_whole_list(store: StateStore) -> None:
    count = ITEMS_LISTED_WHOLE + 10
    session = FakeQbo(rows("Item", in_qbo(count + 50)))

    found = mapped(store, keys(count), session)

    assert found == {key: str(n) for n, key in enumerate(keys(count))}
    [listed] = session.sent
    assert "WHERE Active IN (true, false) ORDERBY" in listed.body
