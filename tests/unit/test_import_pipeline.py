"""qbo_import's reading side and its DAG, with a QBO stand-in that records the queries."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from accounting_sync.common.job import SyncJob
from accounting_sync.common.values import utcnow
from accounting_sync.config.settings import resolve_settings
from accounting_sync.qbo_import import pipeline as importer
from accounting_sync.qbo_import.plan import invoice_state
from accounting_sync.quickbooks.client import CDC_LIMIT, Changes
from accounting_sync.quickbooks.faults import QboFault
from accounting_sync.store.facade import StateStore
from accounting_sync.store.idmap import ORIGIN_INVOICED, ORIGIN_QUICKBOOKS, MappedRecord

COMPANY = "default"


class RecordingQbo:
    """Answers ``query_rows`` from fixed rows: ``Id IN`` picks among them, a "changed since"
    query finds nothing; ``cdc`` answers ``changes`` (or raises it)."""

    def __init__(self, rows: dict[str, list[dict[str, Any]]], changes: Changes | Exception | None = None) -> None:
        self.rows = rows
        self.changes = changes
        self.queries: list[tuple[str, str]] = []
        self.cdc_reads: list[tuple[list[str], datetime]] = []
        self.calls: Counter[str] = Counter()

    def cdc(self, entities: list[str], changed_since: datetime) -> Changes:
        self.cdc_reads.append((list(entities), changed_since))
        if isinstance(self.changes, Exception):
            raise self.changes
        assert self.changes is not None, "no CDC read expected"
        return self.changes

    def query_rows(self, entity: str, where: str = "", began: Any = None) -> list[dict[str, Any]]:
        self.queries.append((entity, where))
        rows = self.rows.get(entity, [])
        if "LastUpdatedTime" in where:
            return []
        if "Id IN (" in where:
            wanted = {part.strip(" '") for part in where.split("Id IN (", 1)[1].rstrip(")").split(",")}
            rows = [row for row in rows if row["Id"] in wanted]
        return rows


def stamped(entity_id: str, updated: str, **fields: Any) -> dict[str, Any]:
    return {"Id": entity_id, "SyncToken": "0", "MetaData": {"LastUpdatedTime": updated}, **fields}


def invoice(entity_id: str, updated: str = "2026-03-05T10:30:00-08:00", balance: float = 10) -> dict[str, Any]:
    return stamped(entity_id, updated, CustomerRef={"value": "7"}, Balance=balance, TotalAmt=10)


def job_for(store: StateStore, qbo: RecordingQbo, **settings: Any) -> SyncJob:
    return SyncJob(COMPANY, store, resolve_settings(settings), None, qbo, "qbo_import", "manual__1")  # type: ignore[arg-type]


def staged(job: SyncJob, kind: str) -> list[str]:
    return sorted(str(payload["Id"]) for _, payload in job.staged("extract", kind))


def test_the_first_run_reads_active_customers_and_outstanding_invoices(store: StateStore) -> None:
    qbo = RecordingQbo({"Invoice": [invoice("1")], "Customer": [stamped("7", "2026-03-01T00:00:00Z")]})
    job = job_for(store, qbo)

    importer.extract(job)

    assert qbo.queries[:2] == [("Customer", ""), ("Invoice", "Balance > '0'")]
    assert (staged(job, "customer"), staged(job, "invoice")) == (["7"], ["1"])


def test_later_runs_read_what_changed_since_the_cursor_minus_the_overlap(store: StateStore) -> None:
    store.set_cursor(COMPANY, "qbo_import.invoices", "2026-03-05T10:30:00-08:00")
    qbo = RecordingQbo({"Invoice": []})

    importer.extract(job_for(store, qbo, import_customers=False, import_credit_notes=False, cursor_overlap_seconds=300))

    assert qbo.queries == [("Invoice", "MetaData.LastUpdatedTime >= '2026-03-05T10:25:00-08:00'")]


def test_a_full_reimport_ignores_the_cursor(store: StateStore) -> None:
    store.set_cursor(COMPANY, "qbo_import.invoices", "2026-03-05T10:30:00-08:00")
    qbo = RecordingQbo({"Invoice": []})

    importer.extract(job_for(store, qbo, import_customers=False, import_credit_notes=False), full_reimport=True)

    assert qbo.queries == [("Invoice", "Balance > '0'")]


def test_the_new_cursor_is_the_latest_change_in_time_not_in_spelling(store: StateStore) -> None:
    qbo = RecordingQbo({"Invoice": [invoice("1", "2026-03-05T10:30:00-08:00"),  # 18:30 UTC
                                    invoice("2", "2026-03-05T12:00:00-02:00")]})  # 14:00 UTC
    job = job_for(store, qbo, import_customers=False)

    importer.extract(job)

    assert dict(job.staged("extract", "meta"))["cursors"] == {"invoices": "2026-03-05T10:30:00-08:00"}
    assert store.get_cursor(COMPANY, "qbo_import.invoices") is None  # only the load moves it


def test_open_imports_are_read_back_by_id_and_missing_ones_are_deleted(store: StateStore) -> None:
    open_ids = [str(n) for n in range(100, 350)]
    store.put_mappings(COMPANY, "invoice", [
        MappedRecord(f"inv-{i}", i, "0", invoice_state({"Balance": 1}, "h"), ORIGIN_QUICKBOOKS) for i in open_ids
    ] + [
        MappedRecord("closed", "90", "0", invoice_state({"Balance": 0}, "h"), ORIGIN_QUICKBOOKS),
        MappedRecord("theirs", "91", "0", "h", ORIGIN_INVOICED),
    ])
    store.set_cursor(COMPANY, "qbo_import.invoices", "2026-03-06T00:00:00Z")
    qbo = RecordingQbo({"Invoice": [invoice(i) for i in open_ids if i != "123"]})
    job = job_for(store, qbo, import_customers=False)

    importer.extract(job)

    by_id = [where for entity, where in qbo.queries if entity == "Invoice" and "Id IN" in where]
    assert len(by_id) == 2  # 250 ids, 200 per query
    assert staged(job, "deleted") == ["123"]


def recent_cursors(store: StateStore, hours_ago: float = 1, *names: str) -> datetime:
    """Cursors CDC reaches (an hour old by default); returns where they stand."""
    position = (utcnow() - timedelta(hours=hours_ago)).replace(microsecond=0)
    for name in names or ("invoices", "customers"):
        store.set_cursor(COMPANY, f"qbo_import.{name}", position.isoformat())
    return position


def open_imports(store: StateStore, *qbo_ids: str) -> None:
    store.put_mappings(COMPANY, "invoice", [
        MappedRecord(f"inv-{i}", i, "0", invoice_state({"Balance": 1}, "h"), ORIGIN_QUICKBOOKS) for i in qbo_ids
    ])


def tombstone(entity_id: str) -> dict[str, Any]:
    return {"domain": "QBO", "status": "Deleted", "Id": entity_id, "MetaData": {"LastUpdatedTime": "2026-03-05T10:00:00Z"}}


SERVER_TIME = datetime.fromisoformat("2026-03-05T11:00:00.250-08:00")


def test_a_recent_cursor_reads_every_change_in_one_cdc_read_and_no_open_invoice(store: StateStore) -> None:
    position = recent_cursors(store)
    open_imports(store, *(str(n) for n in range(100, 600)))
    answered = (position + timedelta(minutes=59, milliseconds=250)).astimezone(SERVER_TIME.tzinfo)
    changes = Changes({"Customer": [stamped("7", "2026-03-05T10:00:00Z")],
                       "Invoice": [invoice("100"), tombstone("101"), tombstone("999")]}, answered)
    qbo = RecordingQbo({}, changes)
    job = job_for(store, qbo, cursor_overlap_seconds=300, import_credit_notes=False)

    importer.extract(job)

    assert qbo.cdc_reads == [(["Customer", "Invoice"], position - timedelta(seconds=300))]
    assert qbo.queries == []  # 500 open imports, not one read back
    assert (staged(job, "customer"), staged(job, "invoice")) == (["7"], ["100"])
    assert staged(job, "deleted") == ["101"]  # the tombstone of an import; 999 was never imported
    # Both cursors move to QBO's clock when it answered, as QBO spells it.
    moved = answered.isoformat(timespec="seconds")
    assert dict(job.staged("extract", "meta"))["cursors"] == {"customers": moved, "invoices": moved}


def test_records_that_failed_are_retried_by_id_in_one_query_beside_cdc(store: StateStore) -> None:
    recent_cursors(store, 1, "invoices")
    for qbo_id in ("5", "6"):
        store.record_error(COMPANY, "qbo_import", "invoice", qbo_id, message="refused")
    qbo = RecordingQbo({"Invoice": [invoice("5")]}, Changes({"Invoice": []}, SERVER_TIME))
    job = job_for(store, qbo, import_customers=False)

    importer.extract(job)

    assert [query for query in qbo.queries if query[0] == "Invoice"] == [("Invoice", "Id IN ('5', '6')")]
    assert (staged(job, "invoice"), staged(job, "deleted")) == (["5"], ["6"])


@pytest.mark.parametrize("answer", [
    Changes({"Invoice": [invoice(str(n)) for n in range(CDC_LIMIT)]}, SERVER_TIME),  # may have been cut
    QboFault(400, "500", "Unsupported Operation", "older than fixed days"),  # refused
], ids=["at-the-cap", "refused"])
def test_when_cdc_cannot_answer_for_sure_the_queries_read_it(store: StateStore, answer: Any) -> None:
    recent_cursors(store, 1, "invoices")
    open_imports(store, "100", "101")
    qbo = RecordingQbo({"Invoice": [invoice("100")]}, answer)
    job = job_for(store, qbo, import_customers=False)

    importer.extract(job)

    assert len(qbo.cdc_reads) == 1
    invoice_reads = [where.split(" ")[0] for entity, where in qbo.queries if entity == "Invoice"]
    assert invoice_reads == ["MetaData.LastUpdatedTime", "Id"]
    assert staged(job, "deleted") == ["101"]  # found as before CDC: an open import QBO no longer has


def test_a_cursor_older_than_cdc_reaches_is_read_by_queries(store: StateStore) -> None:
    recent_cursors(store, 29 * 24 + 1, "invoices")
    qbo = RecordingQbo({"Invoice": []})
    job = job_for(store, qbo, import_customers=False, import_credit_notes=False)

    importer.extract(job)

    assert qbo.cdc_reads == []
    assert [where.split(" ")[0] for _, where in qbo.queries] == ["MetaData.LastUpdatedTime"]


def test_customers_of_outstanding_invoices_are_read_even_when_inactive(store: StateStore) -> None:
    store.put_mappings(COMPANY, "customer", [MappedRecord("c-8", "8", "0", "h", ORIGIN_QUICKBOOKS)])
    qbo = RecordingQbo({
        "Invoice": [invoice("1"), {**invoice("2"), "CustomerRef": {"value": "8"}}, invoice("3", balance=0)],
        "Customer": [stamped("7", "2026-01-01T00:00:00Z", Active=False)],
    })
    job = job_for(store, qbo, import_customers=False)

    importer.extract(job)

    assert ("Customer", "Active IN (true, false) AND Id IN ('7')") in qbo.queries
    assert staged(job, "customer_ref") == ["7"]
    assert staged(job, "customer") == []


def test_the_dag_follows_the_house_rules() -> None:
    from airflow.dag_processing.dagbag import DagBag

    dags = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags" / "qbo_import.py"))
    dag = dags.dags["qbo_import"]

    assert [task.task_id for task in dag.topological_sort()] == ["extract", "load", "tie_out", "report"]
    assert set(dag.params.keys()) == {"full_reimport", "dry_run", "full_tie_out"}
    assert dag.get_task("extract").pool == "quickbooks_api"
    assert (dag.max_active_runs, dag.catchup, dag.is_paused_upon_creation) == (1, False, True)
    assert dag.get_task("report").retries == 0


# -- plan and apply, with an Invoiced stand-in -------------------------------------------------


class ReadOnlyInvoiced:
    """An empty Invoiced account that answers reads and refuses every write."""

    def __init__(self) -> None:
        self.reads: list[str] = []

    def iter_list(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        self.reads.append(path)
        return []

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        raise AssertionError(f"nothing is mapped, so nothing is read back: {path}")

    def post(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a dry run writes nothing")

    patch = request = post


def staged_job(store: StateStore, **overrides: Any) -> SyncJob:
    customer = stamped("7", "2026-03-01T00:00:00Z", DisplayName="Acme", PrimaryEmailAddr={"Address": "ap@acme.test"})
    invoice_row = {**invoice("1"), "DocNumber": "1001", "TxnDate": "2026-03-01",
                   "Line": [{"DetailType": "SalesItemLineDetail", "Amount": 10}]}
    job = SyncJob(COMPANY, store, resolve_settings(), ReadOnlyInvoiced(), None, "qbo_import", "manual__1",  # type: ignore[arg-type]
                  **overrides)
    job.stage("extract", "customer", [("7", customer)])
    job.stage("extract", "invoice", [("1", invoice_row)])
    job.stage("extract", "meta", [("cursors", {"invoices": "2026-03-05T10:30:00-08:00"})])
    return job


def test_a_dry_run_plans_every_record_and_applies_nothing(store: StateStore) -> None:
    job = staged_job(store, dry_run=True)

    counts = importer.load(job)

    assert counts["invoice"] == {"would_create": 1}
    assert set(counts["customer"]) == {"would_create"}
    assert store.count_mappings(COMPANY, "customer") == store.count_mappings(COMPANY, "invoice") == 0
    assert store.get_cursor(COMPANY, "qbo_import.invoices") is None
    assert set(job.invoiced.reads) == {"/customers"}  # type: ignore[attr-defined] - namesake look-ups only


def test_new_records_wait_while_qbo_sync_has_unconfirmed_writes_and_the_cursor_stays(store: StateStore) -> None:
    store.add_intent(COMPANY, "unconfirmed-batch", "qbo_sync", {"entity": "Invoice"})
    job = staged_job(store)

    counts = importer.load(job)

    assert counts == {"customer": {"deferred": 1}, "invoice": {"deferred": 1}}
    assert store.get_cursor(COMPANY, "qbo_import.invoices") is None


def credit_memo(entity_id: str, *payments: str) -> dict[str, Any]:
    links = [{"TxnId": p, "TxnType": "Payment"} for p in payments]
    return stamped(entity_id, "2026-03-05T10:30:00-08:00", CustomerRef={"value": "7"}, TotalAmt=30, Balance=0,
                   LinkedTxn=links)


def test_credit_memos_come_in_the_same_cdc_read_with_the_payments_that_apply_them(store: StateStore) -> None:
    recent_cursors(store, 1, "invoices", "credit_memos")
    store.put_mappings(COMPANY, "credit_note", [MappedRecord("cn-4", "4", "0", "open:h", ORIGIN_QUICKBOOKS),
                                                MappedRecord("cn-5", "5", "0", "open:h", ORIGIN_INVOICED)])
    changes = Changes({"Invoice": [], "CreditMemo": [credit_memo("3", "90"), tombstone("4"), tombstone("5")]},
                      SERVER_TIME)
    qbo = RecordingQbo({"Payment": [stamped("90", "2026-03-05T10:30:00-08:00")]}, changes)
    job = job_for(store, qbo, import_customers=False)

    importer.extract(job)

    assert qbo.cdc_reads[0][0] == ["Invoice", "CreditMemo"]
    assert qbo.queries == [("Payment", "Id IN ('90')")]
    assert (staged(job, "credit_memo"), staged(job, "credit_payment")) == (["3"], ["90"])
    assert staged(job, "deleted_credit_memo") == ["4"]  # 5 is a credit memo qbo_sync wrote


def test_with_import_credit_notes_off_no_credit_memo_is_read(store: StateStore) -> None:
    qbo = RecordingQbo({"CreditMemo": [credit_memo("3")]})

    importer.extract(job_for(store, qbo, import_customers=False, import_invoices=False, import_credit_notes=False))

    assert qbo.queries == []


def test_an_invoice_waits_with_the_credit_memo_applied_to_it_while_qbo_sync_has_unconfirmed_writes(
    store: StateStore,
) -> None:
    """Else the invoice's balance reconciliation would record the credit as a payment."""
    store.add_intent(COMPANY, "unconfirmed-batch", "qbo_sync", {"entity": "Invoice"})
    store.put_mappings(COMPANY, "invoice", [MappedRecord("inv-1", "1", "0", "open:h", ORIGIN_QUICKBOOKS)])
    job = staged_job(store)
    job.stage("extract", "invoice", [("1", {**invoice("1"), "SyncToken": "1", "Balance": 4, "TotalAmt": 10})])
    job.stage("extract", "credit_memo", [("3", credit_memo("3", "90"))])
    job.stage("extract", "credit_payment", [("90", {"Id": "90", "Line": [
        {"Amount": 6, "LinkedTxn": [{"TxnId": "1", "TxnType": "Invoice"}]},
        {"Amount": 6, "LinkedTxn": [{"TxnId": "3", "TxnType": "CreditMemo"}]}]})])

    counts = importer.load(job)

    assert counts["credit_note"] == {"deferred": 1} and counts["invoice"] == {"deferred": 1}
