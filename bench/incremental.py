"""Benchmark 2: an incremental run over a large, already-synced account.

N invoices (default 100,000) are synced first with QBO's limits lifted (this setup is not
measured), the sandbox clock moves an hour on, 10 invoices change, and the next run is
measured: its QBO and Invoiced requests and its time must not grow with N.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import requests
from cryptography.fernet import Fernet

from bench import dataset
from bench.first_sync import qbo_requests
from bench.harness import run_step, stack

CHANGED = 10


def run(invoices: int) -> dict[str, Any]:
    os.environ.setdefault("ACCOUNTING_SYNC_FERNET_KEY", Fernet.generate_key().decode())
    with stack() as boxes:
        unlimited = {"requests_per_window": 10**9, "batch_per_window": 10**9, "concurrent": 100, "window_seconds": 60}
        requests.post(f"{boxes.qbo_url}/_sandbox/limits", json=unlimited, timeout=10).raise_for_status()
        boxes.latency(None)  # the unmeasured setup
        data = dataset.load(boxes.invoiced_url, customers=max(10, invoices // 50), items=100, invoices=invoices,
                            payments=0, bad_debts=0)
        # The account's history is older than the first sync, as in real life.
        requests.post(f"{boxes.invoiced_url}/_sandbox/clock", json={"advance_seconds": 86400}, timeout=10)
        config = boxes.job_config("setup", 60)
        config["window_seconds"] = 0.001  # lift the client-side limiter too for the unmeasured setup
        run_step("connect", config)
        setup = {step: run_step(step, config) for step in ("extract", "transform", "load", "report")}
        requests.post(f"{boxes.invoiced_url}/_sandbox/clock", json={"advance_seconds": 3600}, timeout=10)
        key = requests.get(f"{boxes.invoiced_url}/_sandbox/info", timeout=10).json()["api_key"]
        for invoice_id in data["invoice_ids"][:: max(1, invoices // CHANGED)][:CHANGED]:
            requests.patch(f"{boxes.invoiced_url}/invoices/{invoice_id}", json={"notes": "changed"}, auth=(key, ""),
                           timeout=10).raise_for_status()
        requests.post(f"{boxes.qbo_url}/_sandbox/limits", json={"requests_per_window": 500, "batch_per_window": 40,
                      "concurrent": 10, "window_seconds": 60}, timeout=10).raise_for_status()
        boxes.latency(1.0)
        boxes.reset_stats()
        measured = boxes.job_config("incremental", 60)
        steps = {step: run_step(step, measured) for step in ("extract", "transform", "load", "report")}
        qbo = qbo_requests(boxes.qbo_stats())
        invoiced = requests.get(f"{boxes.invoiced_url}/_sandbox/stats", timeout=10).json()
    return {
        "benchmark": "incremental",
        "invoices_already_synced": invoices,
        "changed": CHANGED,
        "qbo_requests_by_kind": dict(sorted(qbo.items())),
        "qbo_requests_total": sum(qbo.values()),
        "invoiced_requests_total": invoiced["total"],
        "steps": {name: {"seconds": s["seconds"], "peak_rss_mb": s["peak_rss_mb"]} for name, s in steps.items()},
        "pipeline_seconds": round(sum(s["seconds"] for s in steps.values()), 2),
        "first_sync_of_all_invoices_peak_rss_mb": {name: s["peak_rss_mb"] for name, s in setup.items()},
        "load_result": steps["load"]["result"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=100_000)
    print(json.dumps(run(parser.parse_args().invoices), indent=2))


if __name__ == "__main__":
    main()
