"""Benchmark 1: the first sync at scale, against QBO's real limits on a scaled clock.

10,000 invoices (2,000 customers, 300 items, 8,000 payments, 200 bad debts) go from the
Invoiced sandbox into an empty QBO sandbox limited to 500 requests, 40 batch requests and
10 concurrent requests per window. The window is 60 s in QBO; here it is scaled (default
6 s, `--window`) so the run takes minutes; the report gives both clocks.

QBO's latency model is on, its times scaled like the window.

Prints: QBO requests by kind, the lower bound (every write batched by 30), the wall-time
floor those limits impose on that many requests, our ratios, and each step's peak memory.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections import Counter
from typing import Any

from cryptography.fernet import Fernet

from bench import dataset
from bench.harness import run_step, stack

QBO_WINDOW = 60.0
LIMITS = {"requests_per_window": 500, "batch_per_window": 40, "concurrent": 10}


def lower_bound(counts: dict[str, int]) -> dict[str, int]:
    """Fewest QBO requests that can write this data: every write in a full batch of 30.
    Bad debts need a credit memo and a $0 payment each; preferences are read once."""
    batches = {
        kind: math.ceil(n / 30)
        for kind, n in {
            "customers": counts["customers"], "items": counts["items"], "invoices": counts["invoices"],
            "payments": counts["payments"], "credit_memos": counts["bad_debts"], "write_off_payments": counts["bad_debts"],
        }.items()
    }
    return {"batch": sum(batches.values()), "other": 1, **{f"batch.{k}": v for k, v in batches.items()}}


def floor_seconds(batches: int, requests_total: int, window: float) -> float:
    """QBO's limits allow 40 batches and 500 requests per window: no client can go faster."""
    return max(batches / LIMITS["batch_per_window"], requests_total / LIMITS["requests_per_window"]) * window


def qbo_requests(stats: dict[str, Any]) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for row in stats["requests"]:
        path = row["path"]
        if not path.startswith("/v3/"):
            continue
        kind = path.rsplit("/", 1)[-1] if "{" not in path.rsplit("/", 1)[-1] else path.split("/")[-2]
        kinds[f"{kind}:{row['status']}"] += row["count"]
    return kinds


def run(scale: float, window: float) -> dict[str, Any]:
    os.environ.setdefault("ACCOUNTING_SYNC_FERNET_KEY", Fernet.generate_key().decode())
    sizes = {k: max(1, int(v * scale)) for k, v in
             {"customers": 2000, "items": 300, "invoices": 10000, "payments": 8000, "bad_debts": 200}.items()}
    with stack() as boxes:
        import requests

        requests.post(f"{boxes.qbo_url}/_sandbox/limits", json={**LIMITS, "window_seconds": window},
                      timeout=10).raise_for_status()
        boxes.latency(window / QBO_WINDOW)  # QBO's answer times, on the same scaled clock
        started = time.perf_counter()
        data = dataset.load(boxes.invoiced_url, **sizes)
        load_seconds = time.perf_counter() - started
        config = boxes.job_config("bench-first", window)
        run_step("connect", config)
        boxes.reset_stats()
        steps = {name: run_step(name, config) for name in ("extract", "transform", "load", "report")}
        kinds = qbo_requests(boxes.qbo_stats())
    total = sum(kinds.values())
    bound = lower_bound(sizes)
    bound_total = bound["batch"] + bound["other"]
    floor = floor_seconds(bound["batch"], bound_total, window)
    load_wall = steps["load"]["seconds"]
    all_wall = sum(step["seconds"] for step in steps.values())
    return {
        "benchmark": "first_sync",
        "data": {k: v for k, v in data.items() if k != "invoice_ids"},
        "dataset_load_seconds": round(load_seconds, 1),
        "window_seconds": window,
        "clock_scale": QBO_WINDOW / window,
        "qbo_requests_by_kind": dict(sorted(kinds.items())),
        "qbo_requests_total": total,
        "qbo_throttled_429": sum(n for k, n in kinds.items() if k.endswith(":429")),
        "lower_bound_requests": bound,
        "requests_ratio": round(total / bound_total, 3),
        "floor_seconds_scaled": round(floor, 1),
        "floor_seconds_real_qbo": round(floor * QBO_WINDOW / window, 1),
        "load_seconds_scaled": load_wall,
        "load_ratio_to_floor": round(load_wall / floor, 3),
        "pipeline_seconds_scaled": round(all_wall, 1),
        "pipeline_ratio_to_floor": round(all_wall / floor, 3),
        "pipeline_seconds_real_qbo_estimate": round((all_wall - load_wall) + load_wall * QBO_WINDOW / window, 1),
        "steps": {name: {"seconds": s["seconds"], "peak_rss_mb": s["peak_rss_mb"]} for name, s in steps.items()},
        "peak_rss_mb": max(s["peak_rss_mb"] for s in steps.values()),
        "load_result": steps["load"]["result"],
        "report": steps["report"]["result"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 10,000-invoice data set")
    parser.add_argument("--window", type=float, default=6.0, help="seconds standing in for QBO's 60 s window")
    args = parser.parse_args()
    print(json.dumps(run(args.scale, args.window), indent=2))


if __name__ == "__main__":
    main()
