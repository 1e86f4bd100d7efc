"""Benchmark 3b: DAG file parse time, in ms per file: the cost of the module itself
(Airflow already imported, as in the dag-processor) and of a cold interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MEASURE = """
import importlib.util, sys, time
import airflow.sdk  # the dag-processor has this loaded already
path = sys.argv[1]
runs = []
for n in range(5):
    spec = importlib.util.spec_from_file_location(f"dagfile{n}", path)
    module = importlib.util.module_from_spec(spec)
    started = time.perf_counter()
    spec.loader.exec_module(module)
    runs.append((time.perf_counter() - started) * 1000)
print(min(runs), runs[0])
"""


def run() -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "plugins"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    files: dict[str, Any] = {}
    for path in sorted((REPO / "dags").glob("*.py")):
        out = subprocess.run([sys.executable, "-c", MEASURE, str(path)], env=env, capture_output=True, text=True,
                             check=True).stdout.split()
        started = time.perf_counter()
        subprocess.run([sys.executable, str(path)], env=env, capture_output=True, check=True)
        cold = (time.perf_counter() - started) * 1000
        files[path.name] = {"warm_ms": round(float(out[0]), 1), "first_import_ms": round(float(out[1]), 1),
                            "cold_interpreter_ms": round(cold)}
    return {"benchmark": "dag_parse_time", "files": files}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
