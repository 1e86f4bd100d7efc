"""The state store on SQLite and on a real PostgreSQL server (``any_store``)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from accounting_sync.store.facade import StateStore
from accounting_sync.store.idmap import ORIGIN_INVOICED, MappedRecord, WrittenCodes
from accounting_sync.store.schema import SCHEMA_VERSION
from accounting_sync.tie_out.resync import resync_tax_rate


def test_migration_is_repeatable(any_store: StateStore) -> None:
    any_store.migrate()
    StateStore(any_store.url).migrate()
    assert any_store.schema_version() == SCHEMA_VERSION


def test_id_map_round_trip_and_company_isolation(any_store: StateStore) -> None:
    any_store.put_mappings("acme", "invoice", [MappedRecord("1", "101", "0", "h1", ORIGIN_INVOICED)])
    any_store.put_mappings("acme", "invoice", [MappedRecord("1", "101", "1", "h2", ORIGIN_INVOICED)])
    any_store.put_mappings("globex", "invoice", [MappedRecord("1", "900", "0", "h", ORIGIN_INVOICED)])
    assert any_store.get_mapping("acme", "invoice", "1") == MappedRecord("1", "101", "1", "h2", ORIGIN_INVOICED)
    assert any_store.get_mapping("globex", "invoice", "1").qbo_id == "900"  # type: ignore[union-attr]
    assert any_store.find_by_qbo_id("acme", "invoice", ["101"])["101"].invoiced_id == "1"
    assert any_store.count_mappings("acme", "invoice") == 1


def test_written_tax_codes_are_replaced_per_document_and_voided_ones_left_alone(any_store: StateStore) -> None:
    any_store.put_mappings("acme", "invoice", [MappedRecord(i, f"10{i}", "0", "h", ORIGIN_INVOICED) for i in "123"])
    any_store.put_mappings("acme", "credit_note", [MappedRecord("1", "201", "0", "h", ORIGIN_INVOICED)])
    any_store.put_mappings("acme", "invoice", [MappedRecord("3", "103", "1", "voided", ORIGIN_INVOICED)])
    any_store.put_written_codes("acme", [
        WrittenCodes("invoice", "1", "INV-1", frozenset({("zero", "0.0% Z"), ("vat", "20.0% S")})),
        WrittenCodes("invoice", "2", "INV-2", frozenset({("zero", "0.0% Z")})),
        WrittenCodes("invoice", "3", "INV-3", frozenset({("zero", "0.0% Z")})),
        WrittenCodes("credit_note", "1", "CN-1", frozenset({("zero", "0.0% Z")})),
    ])
    any_store.put_written_codes("acme", [WrittenCodes("invoice", "2", "INV-2", frozenset({("zero", "Exempt")}))])
    rows = any_store.written_with("acme", ["zero"])
    assert [(r.object_type, r.invoiced_id, r.code_name) for r in rows] == [
        ("credit_note", "1", "0.0% Z"), ("invoice", "1", "0.0% Z"), ("invoice", "2", "Exempt")]
    assert not any_store.written_with("globex", ["zero"])

    assert resync_tax_rate(any_store, "acme", "zero", "Exempt", "olivia") == [("credit_note", "CN-1"), ("invoice", "INV-1")]
    assert {e.document_number for e in any_store.open_errors("acme")} == {"CN-1", "INV-1"}
    assert any_store.get_mapping("acme", "invoice", "2").content_hash == "h"  # type: ignore[union-attr]


def test_cursor_and_settings(any_store: StateStore) -> None:
    assert any_store.get_cursor("acme", "qbo_sync.invoices") is None
    any_store.set_cursor("acme", "qbo_sync.invoices", "1700000000")
    any_store.set_cursor("acme", "qbo_sync.invoices", "1700000100")
    assert any_store.get_cursor("acme", "qbo_sync.invoices") == "1700000100"
    any_store.clear_cursors("acme", "qbo_sync.")
    assert any_store.get_cursor("acme", "qbo_sync.invoices") is None
    any_store.put_settings("acme", {"duplicate_customer_names": "merge", "sync_start_date": None})
    assert any_store.get_settings("acme") == {"duplicate_customer_names": "merge", "sync_start_date": None}


def test_errors_count_attempts_and_resolve(any_store: StateStore) -> None:
    for _ in range(2):
        any_store.record_error("acme", "qbo_sync", "invoice", "7", message="closed", code="6210", document_number="INV-7")
    [error] = any_store.open_errors("acme")
    assert (error.attempts, error.document_number, error.code) == (2, "INV-7", "6210")
    any_store.resolve_errors("acme", "qbo_sync", "invoice", ["7"])
    assert any_store.open_errors("acme") == []
    any_store.record_error("acme", "qbo_sync", "invoice", "7", message="again")
    assert any_store.open_errors("acme")[0].attempts == 1


def test_runs_are_recorded(any_store: StateStore) -> None:
    any_store.start_run("acme", "qbo_sync", "manual__1")
    any_store.finish_run("acme", "qbo_sync", "manual__1", "success", {"invoice": {"created": 3}}, "ok")
    [run] = any_store.recent_runs("acme")
    assert (run.state, run.counts["invoice"]["created"]) == ("success", 3)


def test_staging_streams_in_key_order(any_store: StateStore) -> None:
    any_store.stage("acme", "run1", "extract", "invoice", ((f"{i:06d}", {"n": i}) for i in range(1200)))
    any_store.stage("acme", "run1", "extract", "invoice", [("000001", {"n": -1})])
    rows = list(any_store.staged("acme", "run1", "extract", "invoice"))
    assert len(rows) == 1200 and rows[1] == ("000001", {"n": -1})
    any_store.clear_stage("acme", "run")
    assert list(any_store.staged("acme", "run1", "extract", "invoice")) == []


def test_write_journal(any_store: StateStore) -> None:
    any_store.add_intent("acme", "req-1", "invoice", {"BatchItemRequest": []})
    any_store.add_intent("acme", "req-1", "invoice", {"BatchItemRequest": []})
    assert [i.request_id for i in any_store.pending_intents("acme")] == ["req-1"]
    any_store.drop_intent("req-1")
    assert any_store.pending_intents("acme") == []


def test_lease_excludes_other_holders_until_expiry(any_store: StateStore) -> None:
    assert any_store.acquire_lease("acme", "writes", "sync-run", timedelta(minutes=5))
    assert not any_store.acquire_lease("acme", "writes", "import-run", timedelta(minutes=5))
    assert any_store.acquire_lease("globex", "writes", "import-run", timedelta(minutes=5))
    any_store.release_lease("acme", "writes", "sync-run")
    assert any_store.acquire_lease("acme", "writes", "import-run", timedelta(seconds=-1))
    assert any_store.acquire_lease("acme", "writes", "sync-run", timedelta(minutes=5))


def test_token_row_lock_serializes_concurrent_updates(any_store: StateStore) -> None:
    """Ten threads bump the version under the lock: no update is lost."""

    def bump() -> None:
        with any_store.locked_token("acme") as row:
            current = row.version
            threading.Event().wait(0.01)
            row.version = current + 1

    threads = [threading.Thread(target=bump) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert any_store.read_token("acme").version == 10  # type: ignore[union-attr]


def test_a_later_run_of_the_same_dag_takes_over_a_crashed_runs_lease(any_store: StateStore) -> None:
    """max_active_runs=1: a lease left by an earlier run of the same DAG belongs to a dead worker."""
    assert any_store.acquire_lease("acme", "writes", "qbo_sync/run-1", timedelta(minutes=15))
    with any_store.lease("acme", "writes", "qbo_sync/run-2", timedelta(minutes=15)):
        assert not any_store.acquire_lease("acme", "writes", "qbo_import/run-9", timedelta(minutes=15))
    assert any_store.acquire_lease("acme", "writes", "qbo_import/run-9", timedelta(minutes=15))


def test_a_run_that_died_before_its_load_finished_is_recorded_as_failed(store: StateStore) -> None:
    from accounting_sync.common.job import SyncJob
    from accounting_sync.config.settings import resolve_settings
    from accounting_sync.qbo_sync import pipeline

    job = SyncJob("acme", store, resolve_settings(), None, None, "qbo_sync", "run-1")  # type: ignore[arg-type]
    store.start_run("acme", "qbo_sync", "run-1")
    with pytest.raises(pipeline.SyncFailed, match="stopped before every record was tried"):
        pipeline.report(job)
    [run] = store.recent_runs("acme")
    assert run.state == "failed" and "reconnect" in (run.summary or "")


def _event(event_id: str, company: str = "acme", source: str = "invoiced") -> dict[str, object]:
    return {"company_key": company, "source": source, "event_id": event_id, "entity_type": "invoice",
            "entity_id": "1", "operation": "updated", "occurred_at": None}


def test_webhook_events_are_kept_once_and_claimed_once(any_store: StateStore) -> None:
    assert any_store.record_webhook_events([_event("1"), _event("2"), _event("1")]) == 2
    assert any_store.record_webhook_events([_event("2"), _event("1", company="globex")]) == 1
    assert any_store.record_webhook_events([_event("1", source="quickbooks")]) == 1

    assert any_store.claim_webhook_events("acme", "invoiced") == 2
    assert any_store.claim_webhook_events("acme", "invoiced") == 0
    assert any_store.claim_webhook_events("acme", "quickbooks") == 1
    assert [e.event_id for e in any_store.webhook_events("globex")] == ["1"]


def test_announced_events_are_kept_a_week_to_recognise_repeats(any_store: StateStore) -> None:
    from sqlalchemy import update

    from accounting_sync.common.values import utcnow
    from accounting_sync.store.schema import ReceivedEvent

    any_store.record_webhook_events([_event("old"), _event("recent")])
    any_store.claim_webhook_events("acme", "invoiced")
    with any_store.session() as session:
        session.execute(update(ReceivedEvent).where(ReceivedEvent.event_id == "old")
                        .values(announced_at=utcnow() - timedelta(days=8)))
    any_store.claim_webhook_events("acme", "invoiced")
    assert [e.event_id for e in any_store.webhook_events("acme")] == ["recent"]


def test_concurrent_deliveries_of_one_event_store_it_once(any_store: StateStore) -> None:
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(any_store.record_webhook_events([_event("7")])))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 0, 0, 1]
