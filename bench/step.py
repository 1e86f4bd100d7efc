"""Runs one qbo_sync step for the benchmarks: `python -m bench.step extract < config.json`
(a qbo_import step when the config says `"dag": "qbo_import"`). Prints one JSON line: the
step's result and the process's peak resident memory."""

from __future__ import annotations

import json
import logging
import resource
import sys
from typing import Any

import requests

from accounting_sync.common.job import SyncJob
from accounting_sync.config.connections import InvoicedConfig, QuickBooksConfig, RateLimits
from accounting_sync.invoiced.client import InvoicedClient
from accounting_sync.qbo_sync import pipeline as sync
from accounting_sync.quickbooks.oauth import TokenManager
from accounting_sync.store.facade import StateStore


def qbo_config(config: dict[str, Any]) -> QuickBooksConfig:
    return QuickBooksConfig(
        api_base=config["qbo_url"], client_id=config["client_id"], client_secret=config["client_secret"],
        token_url=f"{config['qbo_url']}/oauth2/v1/tokens/bearer", timeout=config.get("timeout", 60),
        limits=RateLimits(window_seconds=config["window_seconds"],
                          throttle_wait_seconds=max(1.0, config["window_seconds"] / 10),
                          batches_in_flight=config.get("batches_in_flight") or RateLimits().batches_in_flight),
        environment="local",
    )


def job(config: dict[str, Any], dag_id: str = "qbo_sync") -> SyncJob:
    return SyncJob.bind(
        StateStore(config["store_url"]), "default",
        InvoicedClient(InvoicedConfig(api_base=config["invoiced_url"], api_key=config["api_key"],
                                      timeout=config.get("timeout", 60))),
        qbo_config(config), company_settings=None, dag_id=dag_id, run_id=config["run_id"],
    )


def connect(config: dict[str, Any]) -> str:
    token = requests.post(f"{config['qbo_url']}/_sandbox/token", json={}, timeout=10).json()
    TokenManager(StateStore(config["store_url"]), "default", qbo_config(config)).save(token, token["realm_id"])
    return "connected"


def import_step(step: str, current: SyncJob) -> Any:
    from accounting_sync.qbo_import import pipeline as importer

    if step == "extract":
        return importer.extract(current)
    if step == "load":
        return importer.load(current)
    if step != "report":
        raise SystemExit(f"unknown step {step}")
    try:
        return importer.report(current)
    except importer.ImportFailed as failed:
        return {"failed": str(failed)[:2000]}


def sync_step(step: str, current: SyncJob) -> Any:
    if step == "extract":
        return sync.extract(current)
    if step == "transform":
        return sync.transform(current)
    if step == "load":
        counts = sync.load(current)
        assert current.qbo is not None
        return {"counts": counts, "qbo_calls": dict(current.qbo.calls),
                "limiter_wait_seconds": round(current.qbo.limiter.waited_seconds, 2)}
    if step != "report":
        raise SystemExit(f"unknown step {step}")
    try:
        return sync.report(current)
    except sync.SyncFailed as failed:
        return {"failed": str(failed)[:2000]}


def tie_out_step(current: SyncJob, full: bool) -> dict[str, Any]:
    from accounting_sync.tie_out.step import tie_out

    books = tie_out(current, full)
    return {"summary": books.summary(), "qbo_reads": books.qbo_reads, "checked": books.checked,
            "payments": books.payments, "differences": len(books.differences)}


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    step = sys.argv[1]
    config = json.loads(sys.stdin.read())
    if step == "connect":
        print(json.dumps({"result": connect(config)}))
        return
    if step == "tie_out":
        result = tie_out_step(job(config, dag_id=config.get("dag", "qbo_sync")), bool(config.get("full")))
    elif config.get("dag") == "qbo_import":
        result = import_step(step, job(config, dag_id="qbo_import"))
    else:
        result = sync_step(step, job(config))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"result": result, "peak_rss_mb": round(peak_mb, 1)}))


if __name__ == "__main__":
    main()
