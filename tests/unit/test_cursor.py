"""Incremental read cursors: one kind for both pipelines (epoch and ISO positions)."""

from __future__ import annotations

from datetime import datetime, timezone

from accounting_sync.common.cursor import ISO, Cursor
from accounting_sync.store.facade import StateStore


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def test_first_read_takes_everything_and_the_next_starts_from_server_time_minus_overlap(store: StateStore) -> None:
    cursor = Cursor.load(store, "acme", "qbo_sync.invoices", 300)
    assert cursor.start is None
    cursor.observe(1_000)
    cursor.read_at(at(5_000))
    assert cursor.next_position() == "5000"
    store.set_cursor("acme", "qbo_sync.invoices", "5000")
    assert Cursor.load(store, "acme", "qbo_sync.invoices", 300).start_epoch == 4_700


def test_without_server_time_the_newest_record_stands_in_and_the_cursor_never_moves_back(store: StateStore) -> None:
    store.set_cursor("acme", "qbo_sync.invoices", "10300")
    cursor = Cursor.load(store, "acme", "qbo_sync.invoices", 300)
    assert cursor.start_epoch == 10_000
    cursor.observe(10_100)
    assert cursor.next_position() == "10300"
    cursor.observe(20_000)
    assert cursor.next_position() == "20000"


def test_a_read_that_learnt_nothing_leaves_the_cursor_where_it_is(store: StateStore) -> None:
    assert Cursor.load(store, "acme", "qbo_sync.invoices", 300).next_position() is None


def test_full_resync_and_since_override_the_stored_cursor(store: StateStore) -> None:
    store.set_cursor("acme", "qbo_sync.invoices", "12645")
    assert Cursor.load(store, "acme", "qbo_sync.invoices", 300).start_epoch == 12345
    assert Cursor.load(store, "acme", "qbo_sync.invoices", 300, full=True).start is None
    since = Cursor.load(store, "acme", "qbo_sync.invoices", 300, since="2026-01-01")
    assert since.start_epoch == 1_767_225_600
    since.read_at(at(1_767_225_700))  # earlier than the date plus the overlap
    assert since.next_position() == str(1_767_225_900)


def test_iso_positions_keep_their_offset_and_compare_as_instants(store: StateStore) -> None:
    store.set_cursor("acme", "qbo_import.invoices", "2026-03-05T10:30:00-08:00")
    cursor = Cursor.load(store, "acme", "qbo_import.invoices", 300, kind=ISO)
    assert cursor.start_iso == "2026-03-05T10:25:00-08:00"
    cursor.observe("2026-03-05T12:00:00-02:00")  # 14:00 UTC: sorts later as text, is earlier
    assert cursor.next_position() == "2026-03-05T10:30:00-08:00"
    cursor.observe("2026-03-05T19:00:00Z")
    assert cursor.next_position() == "2026-03-05T19:00:00Z"
