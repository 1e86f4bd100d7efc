"""Benchmark 4: QBO read calls per idle hour per company, both DAGs together.

Intuit meters reads (queries, reads by id, CDC) against a monthly allowance per app, so
an hour in which nothing changed should cost next to nothing. A company is synced both
ways once (the demo QBO company imported, a small Invoiced account written to QBO), both
clocks move an hour on, and the hourly runs of qbo_sync and qbo_import follow with nothing
changed; the QBO sandbox counts their reads (`/_sandbox/stats`). The same again with
5,000 more open invoices created in QBO and imported: the idle hour must not read them.

Target: at most 2 reads per idle hour per company, the same with the 5,000 open invoices.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import requests
from cryptography.fernet import Fernet

from bench import dataset
from bench.harness import Stack, run_step, stack

HOURS = 3
OPEN_INVOICES = 5000
BATCH = 30
UNLIMITED = {"requests_per_window": 10**9, "batch_per_window": 10**9, "concurrent": 100, "window_seconds": 60}


SYNC_STEPS = ("extract", "transform", "load", "report")
IMPORT_STEPS = ("extract", "load", "report")


def run_hour(config: dict[str, Any]) -> None:
    """The hour's runs of both DAGs, a step per process as Airflow runs them; a failed
    record would be a benchmark bug."""
    for dag, steps in (("qbo_sync", SYNC_STEPS), ("qbo_import", IMPORT_STEPS)):
        for step in steps:
            result = run_step(step, {**config, "dag": dag})["result"]
            if isinstance(result, dict) and "failed" in result:
                raise RuntimeError(f"{dag} failed: {result['failed']}")


def later(boxes: Stack, seconds: float = 3600) -> None:
    """Both companies' clocks move on."""
    for url in (boxes.qbo_url, boxes.invoiced_url):
        requests.post(f"{url}/_sandbox/clock", json={"advance_seconds": seconds}, timeout=10).raise_for_status()


def open_invoices_in_quickbooks(boxes: Stack, count: int) -> None:
    """``count`` unpaid invoices entered in QBO, as its users would, in batches of 30."""
    token = requests.post(f"{boxes.qbo_url}/_sandbox/token", json={}, timeout=10).json()
    api = f"{boxes.qbo_url}/v3/company/{token['realm_id']}"
    headers = {"Authorization": f"Bearer {token['access_token']}", "Accept": "application/json"}
    customer = requests.get(f"{api}/query", params={"query": "SELECT * FROM Customer MAXRESULTS 1"},
                            headers=headers, timeout=30).json()["QueryResponse"]["Customer"][0]["Id"]
    item = requests.get(f"{api}/query", params={"query": "SELECT * FROM Item WHERE Type = 'Service' MAXRESULTS 1"},
                        headers=headers, timeout=30).json()["QueryResponse"]["Item"][0]["Id"]
    session = requests.Session()
    for start in range(0, count, BATCH):
        items = [{"bId": str(n), "operation": "create", "Invoice": {
            "DocNumber": f"OPEN-{n:05d}", "CustomerRef": {"value": customer},
            "Line": [{"DetailType": "SalesItemLineDetail", "Amount": 100,
                      "SalesItemLineDetail": {"ItemRef": {"value": item}, "Qty": 1, "UnitPrice": 100}}]}}
            for n in range(start, min(start + BATCH, count))]
        session.post(f"{api}/batch", json={"BatchItemRequest": items}, headers=headers, timeout=60).raise_for_status()


def idle_reads(open_invoices: int) -> dict[str, Any]:
    """Reads of each idle hour after one sync both ways of a fresh company."""
    with stack() as boxes:
        requests.post(f"{boxes.qbo_url}/_sandbox/limits", json=UNLIMITED, timeout=10).raise_for_status()
        boxes.latency(None)  # reads are counted, not timed
        requests.post(f"{boxes.qbo_url}/_sandbox/seed", timeout=30).raise_for_status()
        dataset.load(boxes.invoiced_url, customers=20, items=5, invoices=50, payments=20, bad_debts=2)
        if open_invoices:
            open_invoices_in_quickbooks(boxes, open_invoices)
        later(boxes, 86_400)  # both accounts' history is older than the first sync, as in real life
        config = boxes.job_config("first", 0.001)  # the client-side limiter lifted for the setup
        run_step("connect", config)
        run_hour(config)
        hours = []
        for hour in range(HOURS):
            later(boxes)
            boxes.reset_stats()
            run_hour({**config, "run_id": f"idle-{hour}"})
            stats = boxes.qbo_stats()
            hours.append({"reads": stats["reads"], "writes": stats["writes"]})
    return {"open_invoices_imported": open_invoices, "hours": hours,
            "reads_per_idle_hour": max(hour["reads"] for hour in hours)}


def run(open_invoices: int = OPEN_INVOICES) -> dict[str, Any]:
    os.environ.setdefault("ACCOUNTING_SYNC_FERNET_KEY", Fernet.generate_key().decode())
    plain, crowded = idle_reads(0), idle_reads(open_invoices)
    return {
        "benchmark": "read_budget",
        "idle_hours_measured": HOURS,
        "reads_per_idle_hour": plain["reads_per_idle_hour"],
        f"reads_per_idle_hour_{open_invoices}_open": crowded["reads_per_idle_hour"],
        "target_reads_per_idle_hour": 2,
        "runs": [plain, crowded],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--open-invoices", type=int, default=OPEN_INVOICES)
    print(json.dumps(run(parser.parse_args().open_invoices), indent=2))


if __name__ == "__main__":
    main()
