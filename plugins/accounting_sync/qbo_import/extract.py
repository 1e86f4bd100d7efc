"""The extract step of qbo_import: every QuickBooks record this run has to look at, staged.

Customers and invoices changed since their cursors (with overlap), the imported invoices
that are still open (reading them back also reveals deletions), the records that failed
last time and the customers of outstanding invoices go into the state store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from accounting_sync.common.cursor import ISO, Cursor
from accounting_sync.common.flows import IMPORT
from accounting_sync.common.ignores import Ignores
from accounting_sync.common.job import SyncJob, record_key
from accounting_sync.common.values import money
from accounting_sync.qbo_import.plan import is_open
from accounting_sync.quickbooks.client import QuickBooksClient, rows_by_id
from accounting_sync.store.idmap import ORIGIN_QUICKBOOKS

log = logging.getLogger(__name__)

FLOW = IMPORT.name


def stage_changes(job: SyncJob, full_reimport: bool = False) -> dict[str, int]:
    """Stage every QBO record this run has to look at."""
    assert job.qbo is not None
    job.store.clear_stage(job.company, f"{job.dag_id}/")
    cursors: dict[str, str] = {}
    customers: dict[str, dict[str, Any]] = {}
    invoices: dict[str, dict[str, Any]] = {}
    refs: dict[str, dict[str, Any]] = {}
    deleted: set[str] = set()
    if job.settings.import_customers:
        customers = _changed(job, "Customer", "customers", "", full_reimport, cursors)
        retry = _failed_ids(job, "customer") - customers.keys()
        customers.update(_by_id(job.qbo, "Customer", retry, "Active IN (true, false)"))
    if job.settings.import_invoices:
        invoices = _changed(job, "Invoice", "invoices", "Balance > '0'", full_reimport, cursors)
        ignored = job.store.ignored_ids(job.company, FLOW, "invoice")
        watched = (_open_imports(job) | _failed_ids(job, "invoice")) - invoices.keys() - ignored
        found = _by_id(job.qbo, "Invoice", watched)
        invoices.update(found)
        deleted = watched - found.keys()
        wanted = {str(i["CustomerRef"]["value"]) for i in invoices.values() if money(i.get("Balance", 0)) > 0}
        unmapped = wanted - customers.keys() - job.store.find_by_qbo_id(job.company, "customer", wanted).keys()
        refs = _by_id(job.qbo, "Customer", unmapped, "Active IN (true, false)")
    counts = {
        "customers": job.stage("extract", "customer", _keyed(customers)),
        "customer_refs": job.stage("extract", "customer_ref", _keyed(refs)),
        "invoices": job.stage("extract", "invoice", _keyed(invoices)),
        "deleted": job.stage("extract", "deleted", ((record_key(i), {"Id": i}) for i in sorted(deleted))),
    }
    job.stage("extract", "meta", [("cursors", cursors)])
    log.info("Read from QuickBooks: %s", counts)
    return counts


def _keyed(records: dict[str, dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    return ((record_key(qbo_id), record) for qbo_id, record in records.items())


def _changed(
    job: SyncJob, entity: str, name: str, first_where: str, full: bool, cursors: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Records changed since the cursor (minus the overlap); without one, ``first_where``."""
    assert job.qbo is not None
    cursor = Cursor.load(
        job.store, job.company, f"{FLOW}.{name}", job.settings.cursor_overlap_seconds, kind=ISO, full=full
    )
    where = first_where if cursor.start is None else f"MetaData.LastUpdatedTime >= '{cursor.start_iso}'"
    ignores = Ignores(job.store, job.company, FLOW, entity.lower())
    rows = {}
    for row in job.qbo.query_rows(entity, where):
        cursor.observe(row["MetaData"]["LastUpdatedTime"])
        if ignores.keep(str(row["Id"]), datetime.fromisoformat(row["MetaData"]["LastUpdatedTime"])):
            rows[str(row["Id"])] = row
    ignores.lift_changed()
    position = cursor.next_position()
    if position is not None:
        cursors[name] = position
    return rows


def _by_id(client: QuickBooksClient, entity: str, ids: Iterable[str], where: str = "") -> dict[str, dict[str, Any]]:
    """The current version of each record; deleted ones are simply absent."""
    return {str(row["Id"]): row for row in rows_by_id(client, entity, ids, where)}


def _open_imports(job: SyncJob) -> set[str]:
    """QBO ids of imported invoices that still had a balance when last seen."""
    mappings = job.store.get_mappings(job.company, "invoice").values()
    return {m.qbo_id for m in mappings if m.origin == ORIGIN_QUICKBOOKS and is_open(m)}


def _failed_ids(job: SyncJob, object_type: str) -> set[str]:
    return job.store.unresolved_source_ids(job.company, FLOW, object_type)
