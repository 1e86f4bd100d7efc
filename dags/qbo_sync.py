"""
### QuickBooks Online sync (Invoiced → QuickBooks)

Every hour, and within seconds of a change Invoiced announces by webhook, writes the
invoices issued on **Invoiced** into **QuickBooks Online** and records the payments
received on Invoiced against them, exactly once and to the cent.

**What is synced**: non-draft invoices and credit notes changed since the last successful
sync (the first sync takes them all), their customers and line items (as
Products/Services), payments (with the credit notes they apply, and convenience fees as
invoices of their own), refunds of payments (as refund receipts), voids, and bad-debt
write-offs (a credit memo applied to the invoice). Invoices imported from QuickBooks are
never written back; payments on them are.

**How to use it**
- *Enable auto-sync*: switch this DAG on. *Sync now*: trigger it (▶).
- The trigger form offers **full_resync** (ignore the last-sync point), **since** (re-read
  changes from a date) and **dry_run** (report what would be written, write nothing).
- A failed run lists every record that could not be synced, with the invoice number, the
  reason and how to fix it, in the `report` task log and on the Accounting Sync page.
  Records that failed are retried on the next run by themselves.

Settings (account mapping, sync start date, duplicate customer names) live on the
**Accounting Sync → Configure** page.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, task

from accounting_sync.common.flows import SYNC
from accounting_sync.config.companies import Company, load_companies
from accounting_sync.webhooks.schedule import changes_or_hourly


def build_sync_dag(company: Company) -> Any:
    @dag(
        **company.dag_args(SYNC.name, __doc__, tags=["sync"], schedule=changes_or_hourly(company, SYNC)),
        params={
            "full_resync": Param(False, type="boolean", description="Ignore the last-sync point and look at every record."),
            "since": Param(None, type=["null", "string"], format="date", description="Re-read changes since this date."),
            "dry_run": Param(False, type="boolean", description="Compute and report what would be written; write nothing."),
            "full_tie_out": Param(False, type="boolean", description="Compare every linked invoice, not only what changed."),
        },
    )
    def qbo_sync() -> None:
        @task
        def extract(**context: Any) -> dict[str, int]:
            """Stream changed Invoiced records into the state store."""
            from accounting_sync.qbo_sync import pipeline

            return pipeline.extract_task(company.key, context)

        @task
        def transform(**context: Any) -> dict[str, int]:
            """Plan the QBO writes (pandas; mappings from include/mappings)."""
            from accounting_sync.qbo_sync import pipeline

            return pipeline.transform_task(company.key, context)

        @task(pool=company.pool)
        def load(**context: Any) -> dict[str, dict[str, int]]:
            """Write customers, items, invoices, credit memos, payments, write-offs and refunds to QBO."""
            from accounting_sync.qbo_sync import pipeline

            return pipeline.load_task(company.key, context)

        @task(pool=company.pool, retries=0, trigger_rule="all_done")
        def tie_out(**context: Any) -> str:
            """Compare both ledgers; record every difference and why (read-only)."""
            from accounting_sync.tie_out.step import tie_out_task

            return tie_out_task(company.key, context)

        @task(retries=0, trigger_rule="all_done")
        def report(**context: Any) -> str:
            """Record the run; fail it if any record failed, listing each one."""
            from accounting_sync.qbo_sync import pipeline

            return pipeline.report_task(company.key, context)

        extract() >> transform() >> load() >> tie_out() >> report()

    return qbo_sync()


for _company in load_companies():
    build_sync_dag(_company)
