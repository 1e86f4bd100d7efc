"""Incremental read cursors."""

from __future__ import annotations

from pathlib import Path

from accounting_sync.common.cursor import Cursor
from accounting_sync.store.facade import StateStore


def test_first_read_takes_everything_and_the_next_starts_from_server_time_minus_overlap() -> None:
    cursor = Cursor("qbo_sync.invoices", None, overlap=300)
    assert cursor.params() == {}
    cursor.observe({"updated_at": 1_000})
    cursor.server_time = 5_000
    assert cursor.next_value() == 4_700


def test_without_server_time_the_newest_record_stands_in_and_the_cursor_never_moves_back() -> None:
    cursor = Cursor("qbo_sync.invoices", 10_000, overlap=300)
    assert cursor.params() == {"updated_after": 10_000}
    cursor.observe({"updated_at": 10_100})
    assert cursor.next_value() == 10_000
    cursor.observe({"updated_at": 20_000})
    assert cursor.next_value() == 19_700


def test_full_resync_and_since_override_the_stored_cursor(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 's.db'}")
    store.set_cursor("acme", "qbo_sync.invoices", "12345")
    assert Cursor.load(store, "acme", "qbo_sync.invoices", 300).start == 12345
    assert Cursor.load(store, "acme", "qbo_sync.invoices", 300, full_resync=True).start is None
    assert Cursor.load(store, "acme", "qbo_sync.invoices", 300, since="2026-01-01").start == 1_767_225_600
