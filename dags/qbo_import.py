"""
### QuickBooks Online import (QuickBooks → Invoiced)

Every hour, and within seconds of a change Intuit announces by webhook, brings the
receivables kept in **QuickBooks Online** into **Invoiced** so they can be collected
there, and keeps them in step.

**What is imported**
- *Customers*: every active QuickBooks customer (name, email, phone, billing address),
  with its person as the primary contact. An Invoiced customer with the same name is
  linked instead of duplicated. Later changes in QuickBooks are carried over.
- *Outstanding invoices*: every QuickBooks invoice with an open balance, line for line,
  with its discount and tax, to the same total. A partly paid invoice arrives with the
  same balance as in QuickBooks (the paid part is recorded as a payment from QuickBooks).
  Fully paid invoices are not imported.

**Kept in step**: a payment or credit recorded in QuickBooks lowers the balance on
Invoiced (paid in full there closes it here); an invoice voided or deleted in QuickBooks
is voided on Invoiced. QuickBooks stays the master of what it imported: edits made on
Invoiced to an imported invoice are not written back, but payments received on Invoiced
are (by `qbo_sync`, against the original QuickBooks invoice), and they do not come back.
Invoices and customers that `qbo_sync` wrote to QuickBooks are never imported.

**How to use it**
- *Enable auto-sync*: switch this DAG on. *Sync now*: trigger it (▶).
- The trigger form offers **full_reimport** (look at every outstanding invoice and active
  customer again, not only what changed) and **dry_run** (report what would be imported,
  write nothing).
- A failed run lists every record that could not be imported, with the invoice number
  or customer name, the reason and how to fix it, in the `report` task log and on the
  Accounting Sync page. Those records are retried on the next run by themselves.

It never writes at the same time as `qbo_sync` for the same company: whichever starts
writing second waits (its task is retried a few minutes later).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param, dag, task

from accounting_sync.common.flows import IMPORT
from accounting_sync.config.companies import Company, load_companies
from accounting_sync.webhooks.schedule import changes_or_hourly


def build_import_dag(company: Company) -> Any:
    @dag(
        **company.dag_args(IMPORT.name, __doc__, tags=["import"], schedule=changes_or_hourly(company, IMPORT)),
        params={
            "full_reimport": Param(
                False, type="boolean", description="Look at every outstanding invoice and active customer again."
            ),
            "dry_run": Param(False, type="boolean", description="Report what would be imported; write nothing."),
            "full_tie_out": Param(False, type="boolean", description="Compare every linked invoice, not only what changed."),
        },
    )
    def qbo_import() -> None:
        @task(pool=company.pool)
        def extract(**context: Any) -> dict[str, int]:
            """Read changed QuickBooks customers and invoices into the state store."""
            from accounting_sync.qbo_import import pipeline

            return pipeline.extract_task(company.key, context)

        # qbo_sync may hold the company's write lease for a while: retry patiently.
        @task(retries=6, retry_delay=timedelta(minutes=5))
        def load(**context: Any) -> dict[str, dict[str, int]]:
            """Link or create customers and invoices on Invoiced; match balances; void."""
            from accounting_sync.qbo_import import pipeline

            return pipeline.load_task(company.key, context)

        @task(pool=company.pool, retries=0, trigger_rule="all_done")
        def tie_out(**context: Any) -> str:
            """Compare both ledgers; record every difference and why (read-only)."""
            from accounting_sync.tie_out.step import tie_out_task

            return tie_out_task(company.key, context)

        @task(retries=0, trigger_rule="all_done")
        def report(**context: Any) -> str:
            """Record the run; fail it if any record failed, listing each one."""
            from accounting_sync.qbo_import import pipeline

            return pipeline.report_task(company.key, context)

        extract() >> load() >> tie_out() >> report()

    return qbo_import()


for _company in load_companies():
    build_import_dag(_company)
