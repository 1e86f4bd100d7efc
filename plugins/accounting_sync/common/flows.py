"""The two pipelines by name, spelt here once: the DAG files, the steps, the state store
(errors and cursors are recorded under a flow's name) and the Accounting Sync pages all
read them from here. Kept free of imports: DAG files read it at parse time."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Flow:
    """One direction of the sync."""

    name: str
    """The DAG id (before a company's suffix), and the flow its errors and cursors are kept under."""
    key: str
    """How the Accounting Sync pages name it in a form."""
    label: str
    action: str


SYNC = Flow("qbo_sync", "sync", "Invoiced → QuickBooks", "Sync Now")
IMPORT = Flow("qbo_import", "import", "QuickBooks → Invoiced", "Import Now")
FLOWS = (SYNC, IMPORT)


def flow_by_key(key: str) -> Flow | None:
    return next((flow for flow in FLOWS if flow.key == key), None)
