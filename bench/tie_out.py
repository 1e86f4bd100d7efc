"""Benchmark: what the tie-out costs over a large, already-synced account.

N invoices (default 100,000) are synced first with QBO's limits lifted (not measured).
Then, with QBO's limits and latency model back on, a full tie-out compares every linked
invoice, payment (N/2) and customer; 10 invoices change and sync, and the incremental
tie-out of that run is measured. Targets: a full tie-out of 100,000 invoices in at most
110 QBO reads and under 2 minutes; an incremental one adds at most 2 reads to a run.
QBO reads come in pages of 1000 rows, so the full tie-out takes about one per 1,000
invoices and per 1,000 customers; the payments the invoices vouch for are not read.
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

CHANGED = 10
SYNC_STEPS = ("extract", "transform", "load", "report")


def run(invoices: int) -> dict[str, Any]:
    os.environ.setdefault("ACCOUNTING_SYNC_FERNET_KEY", Fernet.generate_key().decode())
    with stack() as boxes:
        data = _synced_account(boxes, invoices)
        _hour_later(boxes)
        boxes.latency(1.0)
        full = run_step("tie_out", {**boxes.job_config("full", 60), "full": True})
        key = requests.get(f"{boxes.invoiced_url}/_sandbox/info", timeout=10).json()["api_key"]
        _hour_later(boxes)
        for invoice_id in data["unpaid_ids"][:: max(1, len(data["unpaid_ids"]) // CHANGED)][:CHANGED]:
            requests.patch(f"{boxes.invoiced_url}/invoices/{invoice_id}", json={"notes": "changed"}, auth=(key, ""),
                           timeout=10).raise_for_status()
        run_config = boxes.job_config("incremental", 60)
        for step in SYNC_STEPS[:3]:
            run_step(step, run_config)
        incremental = run_step("tie_out", run_config)
    return {
        "benchmark": "tie_out",
        "invoices_synced": invoices,
        "full": _figures(full),
        "incremental": {**_figures(incremental), "changed": CHANGED},
        "latency": {"base_seconds": 0.25, "per_item_seconds": 0.05},
    }


def _synced_account(boxes: Stack, invoices: int) -> dict[str, Any]:
    """The account, synced once with every limit lifted (the unmeasured setup)."""
    unlimited = {"requests_per_window": 10**9, "batch_per_window": 10**9, "concurrent": 100, "window_seconds": 60}
    requests.post(f"{boxes.qbo_url}/_sandbox/limits", json=unlimited, timeout=10).raise_for_status()
    boxes.latency(None)
    data = dataset.load(boxes.invoiced_url, customers=max(10, invoices // 50), items=100, invoices=invoices,
                        payments=invoices // 2, bad_debts=0)
    requests.post(f"{boxes.invoiced_url}/_sandbox/clock", json={"advance_seconds": 86400}, timeout=10)
    config = {**boxes.job_config("setup", 60), "window_seconds": 0.001}
    run_step("connect", config)
    for step in SYNC_STEPS:
        run_step(step, config)
    limits = {"requests_per_window": 500, "batch_per_window": 40, "concurrent": 10, "window_seconds": 60}
    requests.post(f"{boxes.qbo_url}/_sandbox/limits", json=limits, timeout=10).raise_for_status()
    return data


def _hour_later(boxes: Stack) -> None:
    for url in (boxes.invoiced_url, boxes.qbo_url):
        requests.post(f"{url}/_sandbox/clock", json={"advance_seconds": 3600}, timeout=10).raise_for_status()


def _figures(step: dict[str, Any]) -> dict[str, Any]:
    result = step["result"]
    return {"qbo_reads": result["qbo_reads"], "seconds": step["seconds"], "peak_rss_mb": step["peak_rss_mb"],
            "checked": result["checked"], "payments": result["payments"], "differences": result["differences"],
            "summary": result["summary"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=100_000)
    print(json.dumps(run(parser.parse_args().invoices), indent=2))


if __name__ == "__main__":
    main()
