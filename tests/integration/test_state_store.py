"""The state store on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from accounting_sync.store.facade import StateStore
from accounting_sync.store.idmap import ORIGIN_INVOICED, MappedRecord
from accounting_sync.store.schema import SCHEMA_VERSION


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    if request.param == "sqlite":
        yield StateStore(f"sqlite:///{tmp_path / 'state.db'}")
        return
    url = request.getfixturevalue("postgres_url")
    store = StateStore(url)
    yield store
    with store.engine.begin() as conn:
        for table in reversed(store.engine.dialect.get_table_names(conn)):
            conn.execute(text(f'DELETE FROM "{table}"'))
    store.engine.dispose()


def test_migration_is_repeatable(store: StateStore) -> None:
    store.migrate()
    StateStore(store.url).migrate()
    assert store.schema_version() == SCHEMA_VERSION


def test_id_map_round_trip_and_company_isolation(store: StateStore) -> None:
    store.put_mappings("acme", "invoice", [MappedRecord("1", "101", "0", "h1", ORIGIN_INVOICED)])
    store.put_mappings("acme", "invoice", [MappedRecord("1", "101", "1", "h2", ORIGIN_INVOICED)])
    store.put_mappings("globex", "invoice", [MappedRecord("1", "900", "0", "h", ORIGIN_INVOICED)])
    assert store.get_mapping("acme", "invoice", "1") == MappedRecord("1", "101", "1", "h2", ORIGIN_INVOICED)
    assert store.get_mapping("globex", "invoice", "1").qbo_id == "900"  # type: ignore[union-attr]
    assert store.find_by_qbo_id("acme", "invoice", ["101"])["101"].invoiced_id == "1"
    assert store.count_mappings("acme", "invoice") == 1


def test_cursor_and_settings(store: StateStore) -> None:
    assert store.get_cursor("acme", "qbo_sync.invoices") is None
    store.set_cursor("acme", "qbo_sync.invoices", "1700000000")
    store.set_cursor("acme", "qbo_sync.invoices", "1700000100")
    assert store.get_cursor("acme", "qbo_sync.invoices") == "1700000100"
    store.clear_cursors("acme", "qbo_sync.")
    assert store.get_cursor("acme", "qbo_sync.invoices") is None
    store.put_settings("acme", {"duplicate_customer_names": "merge", "sync_start_date": None})
    assert store.get_settings("acme") == {"duplicate_customer_names": "merge", "sync_start_date": None}


def test_errors_count_attempts_and_resolve(store: StateStore) -> None:
    for _ in range(2):
        store.record_error("acme", "qbo_sync", "invoice", "7", message="closed", code="6210", document_number="INV-7")
    [error] = store.open_errors("acme")
    assert (error.attempts, error.document_number, error.code) == (2, "INV-7", "6210")
    store.resolve_errors("acme", "qbo_sync", "invoice", ["7"])
    assert store.open_errors("acme") == []
    store.record_error("acme", "qbo_sync", "invoice", "7", message="again")
    assert store.open_errors("acme")[0].attempts == 1


def test_runs_are_recorded(store: StateStore) -> None:
    store.start_run("acme", "qbo_sync", "manual__1")
    store.finish_run("acme", "qbo_sync", "manual__1", "success", {"invoice": {"created": 3}}, "ok")
    [run] = store.recent_runs("acme")
    assert (run.state, run.counts["invoice"]["created"]) == ("success", 3)


def test_staging_streams_in_key_order(store: StateStore) -> None:
    store.stage("acme", "run1", "extract", "invoice", ((f"{i:06d}", {"n": i}) for i in range(1200)))
    store.stage("acme", "run1", "extract", "invoice", [("000001", {"n": -1})])
    rows = list(store.staged("acme", "run1", "extract", "invoice"))
    assert len(rows) == 1200 and rows[1] == ("000001", {"n": -1})
    store.clear_stage("acme", "run")
    assert list(store.staged("acme", "run1", "extract", "invoice")) == []


def test_write_journal(store: StateStore) -> None:
    store.add_intent("acme", "req-1", "invoice", {"BatchItemRequest": []})
    store.add_intent("acme", "req-1", "invoice", {"BatchItemRequest": []})
    assert [i.request_id for i in store.pending_intents("acme")] == ["req-1"]
    store.drop_intent("req-1")
    assert store.pending_intents("acme") == []


def test_lease_excludes_other_holders_until_expiry(store: StateStore) -> None:
    assert store.acquire_lease("acme", "writes", "sync-run", timedelta(minutes=5))
    assert not store.acquire_lease("acme", "writes", "import-run", timedelta(minutes=5))
    assert store.acquire_lease("globex", "writes", "import-run", timedelta(minutes=5))
    store.release_lease("acme", "writes", "sync-run")
    assert store.acquire_lease("acme", "writes", "import-run", timedelta(seconds=-1))
    assert store.acquire_lease("acme", "writes", "sync-run", timedelta(minutes=5))


def test_token_row_lock_serializes_concurrent_updates(store: StateStore) -> None:
    """Ten threads bump the version under the lock: no update is lost."""

    def bump() -> None:
        with store.locked_token("acme") as row:
            current = row.version
            threading.Event().wait(0.01)
            row.version = current + 1

    threads = [threading.Thread(target=bump) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.read_token("acme").version == 10  # type: ignore[union-attr]


def test_a_later_run_of_the_same_dag_takes_over_a_crashed_runs_lease(store: StateStore) -> None:
    """max_active_runs=1: a lease left by an earlier run of the same DAG belongs to a dead worker."""
    assert store.acquire_lease("acme", "writes", "qbo_sync/run-1", timedelta(minutes=15))
    with store.lease("acme", "writes", "qbo_sync/run-2", timedelta(minutes=15)):
        assert not store.acquire_lease("acme", "writes", "qbo_import/run-9", timedelta(minutes=15))
    assert store.acquire_lease("acme", "writes", "qbo_import/run-9", timedelta(minutes=15))


def test_a_run_that_died_before_its_load_finished_is_recorded_as_failed(tmp_path: Path) -> None:
    from accounting_sync.config.settings import resolve_settings
    from accounting_sync.qbo_sync import pipeline as sync

    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    job = sync.SyncJob("acme", store, resolve_settings(), None, None, "qbo_sync", "run-1")  # type: ignore[arg-type]
    store.start_run("acme", "qbo_sync", "run-1")
    with pytest.raises(sync.SyncFailed, match="stopped before every record was tried"):
        sync.report(job)
    [run] = store.recent_runs("acme")
    assert run.state == "failed" and "reconnect" in (run.summary or "")
