"""qbo_import: QuickBooks Online -> Invoiced, as the steps the DAG wires together.

extract  reads QBO into the state store: what changed since the cursors, the imported
         invoices still open (reading them back reveals deletions), what failed last time;
load     plans what each record needs (``plan``) and applies it to Invoiced (``load``),
         or, in a dry run, applies nothing and counts what it would write;
report   records the run and fails it, after every record was tried, if one failed.

Each step takes the run's job and keeps the run's record (started by extract, finished
by report); the ``*_task`` functions are what the DAG's tasks call.

QuickBooks is the master of what is imported here and Invoiced of what qbo_sync writes;
the shared id map says which side each record came from, and neither pipeline writes the
other's records back. Payments cross by reconciling balances, which is what stops them
echoing between the two systems.
"""

from __future__ import annotations

from typing import Any

from accounting_sync.common.flows import IMPORT
from accounting_sync.common.job import SyncJob
from accounting_sync.common.report import RecordsFailed, close_run
from accounting_sync.common.runtime import sync_job
from accounting_sync.qbo_import.extract import stage_changes
from accounting_sync.qbo_import.load import apply_plan

FLOW = IMPORT.name


class ImportFailed(RecordsFailed):
    """Some records could not be imported; the message lists them."""


def extract(job: SyncJob, full_reimport: bool = False) -> dict[str, int]:
    """Start the run's record and stage what QuickBooks has for this run."""
    job.start_run()
    return stage_changes(job, full_reimport)


def load(job: SyncJob) -> dict[str, dict[str, int]]:
    """Plan and apply the staged records on Invoiced (nothing in a dry run)."""
    return apply_plan(job)


def report(job: SyncJob) -> str:
    """Record the run and raise, listing document numbers and reasons, if a record failed."""
    return close_run(job, FLOW, "imported", ImportFailed)


# -- the DAG's tasks --------------------------------------------------------------------------


def extract_task(company: str, context: dict[str, Any]) -> dict[str, int]:
    return extract(sync_job(company, context), full_reimport=bool(context["params"].get("full_reimport")))


def load_task(company: str, context: dict[str, Any]) -> dict[str, dict[str, int]]:
    return load(sync_job(company, context, with_qbo=False))


def report_task(company: str, context: dict[str, Any]) -> str:
    return report(sync_job(company, context, with_qbo=False))
