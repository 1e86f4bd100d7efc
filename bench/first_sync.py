"""Benchmark 1: the first sync at scale, against QBO's real limits on a scaled clock.

10,000 invoices (2,000 customers, 300 items, 8,000 payments, 200 bad debts) go from the
Invoiced sandbox into an empty QBO sandbox limited to 500 requests, 40 batch requests and
10 concurrent requests per window. The window is 60 s in QBO; here it is scaled (default
6 s, `--window`) so the run takes minutes; the report gives both clocks.

QBO's latency model is on (`--no-latency` turns it off), its times scaled like the window;
the load keeps `RateLimits.batches_in_flight` transaction batches in flight
(`--batches-in-flight`). With `--compare` the same run is repeated with latency off and
with one batch in flight, so the gain of sending several is visible.

Prints: the latency settings, QBO requests by kind, the lower bound (every write batched by
30), the wall-time floor those limits impose on that many requests, our ratios, and each
step's peak memory.
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

from accounting_sync.config.connections import RateLimits
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


def latency_report(model: dict[str, Any], window: float) -> dict[str, Any]:
    """The sandbox's latency settings, on the scaled clock and on QBO's."""
    if not model["enabled"]:
        return {"enabled": False}
    report: dict[str, Any] = {"enabled": True}
    for key in ("base_seconds", "per_item_seconds"):
        report[key] = round(model[key], 4)
        report[f"real_qbo_{key}"] = round(model[key] * QBO_WINDOW / window, 3)
    return report


def qbo_requests(stats: dict[str, Any]) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for row in stats["requests"]:
        path = row["path"]
        if not path.startswith("/v3/"):
            continue
        kind = path.rsplit("/", 1)[-1] if "{" not in path.rsplit("/", 1)[-1] else path.split("/")[-2]
        kinds[f"{kind}:{row['status']}"] += row["count"]
    return kinds


def run(scale: float, window: float, latency: bool = True, batches_in_flight: int | None = None) -> dict[str, Any]:
    os.environ.setdefault("ACCOUNTING_SYNC_FERNET_KEY", Fernet.generate_key().decode())
    sizes = {k: max(1, int(v * scale)) for k, v in
             {"customers": 2000, "items": 300, "invoices": 10000, "payments": 8000, "bad_debts": 200}.items()}
    with stack() as boxes:
        import requests

        requests.post(f"{boxes.qbo_url}/_sandbox/limits", json={**LIMITS, "window_seconds": window},
                      timeout=10).raise_for_status()
        # QBO's answer times, on the same scaled clock
        latency_used = boxes.latency(window / QBO_WINDOW if latency else None)
        started = time.perf_counter()
        data = dataset.load(boxes.invoiced_url, **sizes)
        load_seconds = time.perf_counter() - started
        in_flight = batches_in_flight or RateLimits().batches_in_flight
        config = boxes.job_config("bench-first", window, batches_in_flight=in_flight)
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
        "latency": latency_report(latency_used, window),
        "batches_in_flight": in_flight,
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


COMPARED = ("latency", "batches_in_flight", "load_seconds_scaled", "load_ratio_to_floor", "requests_ratio",
            "qbo_throttled_429", "peak_rss_mb")


def compare(scale: float, window: float, batches_in_flight: int | None = None) -> dict[str, Any]:
    """The run as configured, then the same with latency off and with one batch in flight:
    the key figures of both under ``comparison``."""
    result = run(scale, window, True, batches_in_flight)
    variants = {"latency_off": run(scale, window, False, batches_in_flight),
                "one_batch_in_flight": run(scale, window, True, 1)}
    result["comparison"] = {name: {key: other[key] for key in COMPARED} for name, other in variants.items()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 10,000-invoice data set")
    parser.add_argument("--window", type=float, default=6.0, help="seconds standing in for QBO's 60 s window")
    parser.add_argument("--no-latency", action="store_true", help="QBO sandbox answers at once")
    parser.add_argument("--batches-in-flight", type=int, default=None, help="transaction batches sent at once")
    parser.add_argument("--compare", action="store_true", help="also run with latency off and one batch in flight")
    args = parser.parse_args()
    if args.compare:
        result = compare(args.scale, args.window, args.batches_in_flight)
    else:
        result = run(args.scale, args.window, not args.no_latency, args.batches_in_flight)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
