"""Sandboxes as separate processes (so they do not share the sync's interpreter) and the
qbo_sync steps run one per process, as Airflow runs tasks, with their peak memory.

The QBO sandbox answers with its latency model on (real QBO is not instant) and with the
API reference's 30 items per batch, so the figures compare with the 30-item lower bound."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from sandbox.quickbooks.config import LatencyConfig
from tests.support.services import free_port

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Stack:
    qbo_url: str
    invoiced_url: str
    store_url: str
    workdir: Path

    def job_config(self, run_id: str, window_seconds: float, **extra: Any) -> dict[str, Any]:
        qbo = requests.get(f"{self.qbo_url}/_sandbox/info", timeout=10).json()
        invoiced = requests.get(f"{self.invoiced_url}/_sandbox/info", timeout=10).json()
        return {
            "qbo_url": self.qbo_url, "client_id": qbo["client_id"], "client_secret": qbo["client_secret"],
            "invoiced_url": self.invoiced_url, "api_key": invoiced["api_key"], "store_url": self.store_url,
            "run_id": run_id, "window_seconds": window_seconds, **extra,
        }

    def qbo_stats(self) -> dict[str, Any]:
        return dict(requests.get(f"{self.qbo_url}/_sandbox/stats", timeout=30).json())

    def latency(self, scale: float | None) -> dict[str, Any]:
        """The sandbox's default latency model with its times multiplied by ``scale`` (for a
        clock scaled like QBO's windows); None turns it off, e.g. for an unmeasured setup.
        Returns the settings the sandbox took."""
        model = LatencyConfig(enabled=scale is not None)
        if scale is not None:
            model = model.model_copy(update={"base_seconds": model.base_seconds * scale,
                                             "per_item_seconds": model.per_item_seconds * scale})
        answer = requests.post(f"{self.qbo_url}/_sandbox/latency", json=model.model_dump(), timeout=10)
        answer.raise_for_status()
        return dict(answer.json())

    def reset_stats(self) -> None:
        requests.post(f"{self.qbo_url}/_sandbox/stats/reset", timeout=10).raise_for_status()
        requests.post(f"{self.invoiced_url}/_sandbox/stats/reset", timeout=10).raise_for_status()


def _start(module: str, port: int, *options: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")])}
    return subprocess.Popen([sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port), *options],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            requests.get(f"{url}/_sandbox/info", timeout=2).raise_for_status()
            return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not start")


@contextlib.contextmanager
def stack() -> Iterator[Stack]:
    qbo_port, invoiced_port = free_port(), free_port()
    procs = [_start("sandbox.quickbooks", qbo_port, "--batch-max-items", "30"), _start("sandbox.invoiced", invoiced_port)]
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        qbo_url, invoiced_url = f"http://127.0.0.1:{qbo_port}", f"http://127.0.0.1:{invoiced_port}"
        _wait(qbo_url)
        _wait(invoiced_url)
        boxes = Stack(qbo_url, invoiced_url, f"sqlite:///{workdir / 'state.db'}", workdir)
        boxes.latency(1.0)
        yield boxes
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def step_command(step: str) -> list[str]:
    return [sys.executable, "-m", "bench.step", step]


def step_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")])}


def run_step(step: str, config: dict[str, Any]) -> dict[str, Any]:
    """One pipeline step in its own process; returns its result, seconds and peak RSS."""
    started = time.perf_counter()
    done = subprocess.run(step_command(step), input=json.dumps(config), text=True, capture_output=True,
                          env=step_env(), cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"step {step} failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["seconds"] = round(time.perf_counter() - started, 2)
    result["log"] = done.stderr
    return dict(result)
