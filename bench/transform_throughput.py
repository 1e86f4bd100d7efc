"""Benchmark 3a: transform throughput, records per second for 100,000 invoices
(pure transformation: lines frame, payloads, hashes; no I/O)."""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import Any

from accounting_sync.config.settings import resolve_settings
from accounting_sync.qbo_sync.transform import group_lines, lines_frame, plan_invoice


def invoices(count: int) -> list[dict[str, Any]]:
    rng = random.Random(1)
    result = []
    for n in range(count):
        lines = [{"name": f"Service {rng.randint(1, 300)}", "quantity": rng.randint(1, 9),
                  "unit_cost": rng.randint(100, 90000) / 100, "catalog_item": f"item-{rng.randint(1, 300)}"}
                 for _ in range(rng.randint(1, 4))]
        total = sum(round(line["quantity"] * line["unit_cost"], 2) for line in lines)
        result.append({"id": n + 1, "customer": rng.randint(1, 2000), "number": f"INV-{n:07d}", "date": 1767225600,
                       "due_date": 1769817600, "status": "sent", "items": lines, "total": round(total, 2),
                       "currency": "usd", "draft": False, "discounts": [], "taxes": []})
    return result


def run(count: int) -> dict[str, Any]:
    settings = resolve_settings()
    docs = invoices(count)
    started = time.perf_counter()
    frame = lines_frame(docs, settings)
    grouped = group_lines(frame)
    plans = [plan_invoice(doc, grouped[str(doc["id"])], settings, None, None) for doc in docs]
    seconds = time.perf_counter() - started
    assert all(plan.action == "create" for plan in plans)
    return {"benchmark": "transform_throughput", "invoices": count, "lines": len(frame),
            "seconds": round(seconds, 2), "invoices_per_second": round(count / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=100_000)
    print(json.dumps(run(parser.parse_args().invoices), indent=2))


if __name__ == "__main__":
    main()
