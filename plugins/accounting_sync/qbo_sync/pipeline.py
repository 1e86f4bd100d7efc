"""qbo_sync: Invoiced -> QuickBooks Online, as four steps the DAG wires together.

extract   streams changed Invoiced records (cursor with overlap) into the state store;
transform turns them into QBO payloads and decides create / update / void / skip;
load      writes them to QBO (customers, items, invoices, credit memos, fee invoices,
          payments, voids, bad debts, refund receipts) exactly once;
report    records the run and fails it, after everything was tried, if a record failed.

Each step takes the run's job and keeps the run's record (started by extract, finished
by report). The ``*_task`` functions are what the DAG's tasks call: they build the job
from the task's context. Records pass between steps through the state store, never
through XCom.
"""

from __future__ import annotations

from typing import Any

from accounting_sync.common.flows import SYNC
from accounting_sync.common.job import SyncJob
from accounting_sync.common.report import RecordsFailed, close_run
from accounting_sync.common.runtime import sync_job
from accounting_sync.qbo_sync.extract import stage_changes
from accounting_sync.qbo_sync.load import write_plan
from accounting_sync.qbo_sync.transform import plan_run

FLOW = SYNC.name


class SyncFailed(RecordsFailed):
    """Some records could not be synced; the message lists them."""


def extract(job: SyncJob, full_resync: bool = False, since: str | None = None) -> dict[str, int]:
    """Start the run's record and stage what changed on Invoiced."""
    job.start_run()
    return stage_changes(job, full_resync, since)


def transform(job: SyncJob) -> dict[str, int]:
    """Plan every QBO write of the run."""
    return plan_run(job)


def load(job: SyncJob) -> dict[str, dict[str, int]]:
    """Write the plan to QBO, exactly once."""
    return write_plan(job)


def report(job: SyncJob) -> str:
    """Record the run and raise if any record of it failed."""
    return close_run(job, FLOW, "synced", SyncFailed)


# -- the DAG's tasks --------------------------------------------------------------------------


def extract_task(company: str, context: dict[str, Any]) -> dict[str, int]:
    params = context["params"]
    job = sync_job(company, context, with_qbo=False)
    return extract(job, full_resync=bool(params.get("full_resync")), since=params.get("since"))


def transform_task(company: str, context: dict[str, Any]) -> dict[str, int]:
    return transform(sync_job(company, context, with_qbo=False))


def load_task(company: str, context: dict[str, Any]) -> dict[str, dict[str, int]]:
    return load(sync_job(company, context))


def report_task(company: str, context: dict[str, Any]) -> str:
    return report(sync_job(company, context, with_qbo=False))
