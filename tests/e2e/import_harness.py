"""qbo_import and qbo_sync run step by step against both sandboxes, as the DAG tasks run.

Builds on `tests.support.sandboxes`; adds what the import tests do as a user would: write
in QuickBooks and on Invoiced through their public APIs, and count the writes each saw.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from accounting_sync.common.job import SyncJob
from accounting_sync.invoiced.client import InvoicedClient
from accounting_sync.qbo_import import pipeline as importer
from accounting_sync.quickbooks.client import escape
from accounting_sync.store.facade import StateStore
from tests.support.sandboxes import Sandboxes, run_sync, sync_job

COMPANY = "default"
RUNS = itertools.count(1)


@dataclass
class Pipelines:
    boxes: Sandboxes
    store: StateStore
    settings: dict[str, Any] = field(default_factory=dict)

    # -- running the pipelines ------------------------------------------------------------

    def job(self, dag_id: str = "qbo_import", dry_run: bool = False) -> SyncJob:
        job = sync_job(self.boxes, self.store, f"manual__{next(RUNS)}", dry_run=dry_run, settings=self.settings)
        return dataclasses.replace(job, dag_id=dag_id)

    def run_import(self, full_reimport: bool = False, dry_run: bool = False) -> SyncJob:
        """extract -> load -> report, as the DAG does; raises ImportFailed like the report task."""
        job = self.job(dry_run=dry_run)
        importer.extract(job, full_reimport=full_reimport)
        importer.load(job)
        importer.report(job)
        return job

    def run_sync(self) -> None:
        _, failure = run_sync(self.job("qbo_sync"))
        if failure is not None:
            raise failure

    # -- QuickBooks, as its user -----------------------------------------------------------

    def qbo(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        token = requests.post(f"{self.boxes.qbo_url}/_sandbox/token", json={}, timeout=10).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        url = f"{self.boxes.qbo_url}/v3/company/{self.boxes.realm_id}/{path}"
        response = requests.request(method, url, headers=headers, timeout=10, **kwargs)
        response.raise_for_status()
        return dict(response.json())

    def qbo_invoice(self, doc_number: str) -> dict[str, Any]:
        return self.boxes.qbo_rows("Invoice", f"DocNumber = '{escape(doc_number)}'")[0]

    def qbo_customer(self, name: str) -> dict[str, Any]:
        return self.boxes.qbo_rows("Customer", f"DisplayName = '{escape(name)}'")[0]

    def qbo_pay(self, invoice: dict[str, Any], amount: float) -> dict[str, Any]:
        body = {
            "CustomerRef": invoice["CustomerRef"],
            "TotalAmt": amount,
            "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        }
        return self.qbo("POST", "payment", json=body)["Payment"]

    def qbo_writes(self) -> list[dict[str, Any]]:
        return [row for row in self.boxes.stats("qbo")["requests"]
                if row["method"] == "POST" and row["path"].startswith("/v3") and not row["path"].endswith("query")]

    # -- Invoiced, as its user -------------------------------------------------------------

    def invoiced(self, method: str, path: str, **kwargs: Any) -> Any:
        auth = (self.boxes.invoiced_info["api_key"], "")
        response = requests.request(method, f"{self.boxes.invoiced_url}{path}", auth=auth, timeout=10, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def invoiced_invoice(self, number: str) -> dict[str, Any]:
        [found] = self.invoiced("GET", "/invoices", params={"filter[number]": number})
        return dict(found)

    def invoiced_writes(self) -> list[dict[str, Any]]:
        """Every POST/PATCH/DELETE the Invoiced API answered since the stats were reset."""
        return [row for row in self.boxes.stats("invoiced")["requests"]
                if row["method"] in {"POST", "PATCH", "DELETE"} and not row["path"].startswith("/_sandbox")]


def fault_first_post(
    pipes: Pipelines, monkeypatch: pytest.MonkeyPatch, wanted: Callable[[str], bool], **fault: Any
) -> None:
    """Arm one Invoiced fault just before the import's first POST to a matching path."""
    post = InvoicedClient.post
    armed = []

    def post_with_fault(self: InvoicedClient, path: str, *args: Any, **kwargs: Any) -> Any:
        if wanted(path) and not armed:
            armed.append(path)
            pipes.boxes.faults("invoiced", probability=1.0, limit=1, **fault)
        return post(self, path, *args, **kwargs)

    monkeypatch.setattr(InvoicedClient, "post", post_with_fault)


def fresh_pipelines(boxes: Sandboxes, tmp_path: Path) -> Pipelines:
    """The QBO demo company, an empty Invoiced account, an empty state store, connected."""
    boxes.reset(seed_invoiced=False, seed_qbo=True)
    boxes.faults("qbo", probability=0, kinds=[])
    boxes.faults("invoiced", probability=0, kinds=[])
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    boxes.connect(store, COMPANY)
    boxes.reset_stats()
    return Pipelines(boxes, store)
