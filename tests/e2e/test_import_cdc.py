"""qbo_import reads QuickBooks' changes through change data capture against both
sandboxes: one metered read an idle hour however many imported invoices are open,
deletions from tombstones, voids from the changed records, queries again past CDC's
30 days."""

from __future__ import annotations

from typing import Any

from accounting_sync.qbo_import.plan import invoice_state
from accounting_sync.store.idmap import ORIGIN_QUICKBOOKS, MappedRecord
from tests.e2e.import_harness import COMPANY, Pipelines


def qbo_reads(pipes: Pipelines) -> list[dict[str, Any]]:
    """The metered QBO requests (GETs and queries) since the stats were reset."""
    return [row for row in pipes.boxes.stats("qbo")["requests"]
            if row["path"].startswith("/v3") and (row["method"] == "GET" or row["path"].endswith("query"))]


def read_paths(pipes: Pipelines) -> list[str]:
    return sorted(row["path"].rsplit("/", 1)[-1] for row in qbo_reads(pipes) for _ in range(row["count"]))


def remove_in_quickbooks(pipes: Pipelines, number: str, operation: str) -> None:
    invoice = pipes.qbo_invoice(number)
    pipes.qbo("POST", "invoice", params={"operation": operation}, json={"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]})


def test_an_idle_hour_costs_one_read_however_many_invoices_are_open(pipelines: Pipelines) -> None:
    pipelines.run_import()
    # 5,000 more open imports than the demo's: before CDC each run read them all back by id.
    pipelines.store.put_mappings(COMPANY, "invoice", [
        MappedRecord(f"bulk-{n}", str(900_000 + n), "0", invoice_state({"Balance": 1}, "h"), ORIGIN_QUICKBOOKS)
        for n in range(5000)
    ])
    pipelines.boxes.qbo_clock(advance_seconds=3600)
    pipelines.boxes.reset_stats()

    job = pipelines.run_import()

    assert read_paths(pipelines) == ["cdc"]
    assert pipelines.boxes.stats("qbo")["reads"] == 1
    assert pipelines.invoiced_writes() == []
    assert set(job.counts_dict()["invoice"]) <= {"unchanged", "skipped"}  # the overlap's re-reads


def test_a_deleted_and_a_voided_invoice_are_voided_on_invoiced_from_the_cdc_read(pipelines: Pipelines) -> None:
    pipelines.run_import()
    remove_in_quickbooks(pipelines, "1013", "delete")
    remove_in_quickbooks(pipelines, "1014", "void")
    pipelines.boxes.reset_stats()

    job = pipelines.run_import()

    assert pipelines.invoiced_invoice("1013")["status"] == "voided"
    assert pipelines.invoiced_invoice("1014")["status"] == "voided"
    assert job.counts_dict()["invoice"]["voided"] == 2
    assert read_paths(pipelines) == ["cdc"]  # no open invoice read back to find them
    pipelines.boxes.reset_stats()
    pipelines.run_import()
    assert pipelines.invoiced_writes() == []


def test_past_thirty_days_the_import_falls_back_to_queries_and_still_finds_deletes(pipelines: Pipelines) -> None:
    pipelines.run_import()
    pipelines.boxes.qbo_clock(advance_seconds=31 * 86_400)  # nobody ran the import for a month
    remove_in_quickbooks(pipelines, "1013", "delete")
    edited = pipelines.qbo_invoice("1001")
    pipelines.qbo("POST", "invoice", json={"Id": edited["Id"], "SyncToken": edited["SyncToken"], "sparse": True,
                                          "CustomerMemo": {"value": "Thanks for a month of patience"}})
    pipelines.boxes.reset_stats()

    pipelines.run_import()

    refused = [row for row in pipelines.boxes.stats("qbo")["requests"] if row["path"].endswith("/cdc")]
    assert [(row["status"], row["count"]) for row in refused] == [(400, 1)]
    assert "query" in read_paths(pipelines)
    assert pipelines.invoiced_invoice("1013")["status"] == "voided"
    assert pipelines.invoiced_invoice("1001")["notes"] == "Thanks for a month of patience"
    # The cursor now stands on QBO's clock again: the next hour is one CDC read.
    pipelines.boxes.qbo_clock(advance_seconds=3600)
    pipelines.boxes.reset_stats()
    pipelines.run_import()
    assert read_paths(pipelines) == ["cdc"]
