"""A throw-away Airflow with both sandboxes, the way `make run` wires them, for tests that
need the real API server (the Accounting Sync plugin, its nav entry, the REST API).

Everything lives in a temporary Airflow home and on free ports; every process started
here is stopped, by its own process group, when the context ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet

from tests.support.plugins import plugins_folder
from tests.support.sandboxes import API_REFERENCE_BATCH
from tests.support.services import free_port

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
AIRFLOW = str(Path(PYTHON).with_name("airflow"))
API_TIMEOUT = 60  # the API server answers slowly while a busy 2-core machine also runs the scheduler and workers


@dataclass
class Airflow:
    url: str
    home: Path
    env: dict[str, str]
    qbo_url: str
    invoiced_url: str
    password: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def token(self) -> str:
        response = requests.post(
            f"{self.url}/auth/token", json={"username": "admin", "password": self.password}, timeout=API_TIMEOUT
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def api(self, path: str, method: str = "GET", body: Any = None, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token()}"}
        response = requests.request(
            method, f"{self.url}/api/v2/{path}", headers=headers, json=body, params=params or None, timeout=API_TIMEOUT
        )
        response.raise_for_status()
        return response.json()

    def log_tail(self, lines: int = 60) -> str:
        log = self.home / "standalone.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


RUN_DAG = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
dag = DagBag(dag_folder=sys.argv[1]).dags[sys.argv[3]]
run = dag.test(run_conf=json.loads(sys.argv[2]))
print("DAGRUN-STATE", run.state)
"""


def dag_test(env: dict[str, str], conf: dict[str, object], dag_id: str = "qbo_sync") -> subprocess.CompletedProcess[str]:
    """One run of a DAG from the repository's dags/ folder with ``dag.test()``, in its own
    process (it prints the task logs and ``DAGRUN-STATE <state>``)."""
    return subprocess.run(
        [PYTHON, "-c", RUN_DAG, str(REPO / "dags"), json.dumps(conf), dag_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def wait_for(url: str, seconds: float, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(requests.RequestException, ValueError):
            response = requests.get(url, timeout=2)
            if response.ok:
                return dict(response.json())
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not answer at {url} within {seconds:.0f} s")
        time.sleep(0.5)


def start(cmd: list[str], env: dict[str, str], log: Path, airflow: Airflow) -> None:
    with open(log, "ab") as out:
        process = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    airflow.processes.append(process)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in reversed(processes):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


WEBHOOK_SECRETS = {"quickbooks": secrets.token_urlsafe(24), "invoiced": secrets.token_urlsafe(24)}
"""The Intuit app's verifier token and the Invoiced webhook secret of these throw-away Airflows."""


def connections(
    qbo_url: str, qbo: dict[str, Any], invoiced_url: str, invoiced: dict[str, Any]
) -> dict[str, str]:
    """The AIRFLOW_CONN_* variables of scripts/run_local.py, pointing at these sandboxes,
    with the webhook secrets the sandboxes sign with once ``wire_webhooks`` registers them."""
    values = {
        "quickbooks_default": {
            "conn_type": "quickbooks",
            "host": qbo_url,
            "login": qbo["client_id"],
            "password": qbo["client_secret"],
            "extra": {
                "environment": "local",
                "authorize_url": f"{qbo_url}/connect/oauth2",
                "token_url": f"{qbo_url}/oauth2/v1/tokens/bearer",
                "revoke_url": f"{qbo_url}/oauth2/v1/tokens/revoke",
                "webhook_verifier_token": WEBHOOK_SECRETS["quickbooks"],
            },
        },
        "invoiced_default": {
            "conn_type": "invoiced",
            "host": invoiced_url,
            "password": invoiced["api_key"],
            "extra": {"webhook_secret": WEBHOOK_SECRETS["invoiced"]},
        },
    }
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(value) for conn_id, value in values.items()}


def airflow_env(home: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_folder(home)),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(REPO / "plugins"), str(REPO), os.environ.get("PYTHONPATH")])
            ),
            # `airflow standalone` starts its components as `airflow ...` from PATH.
            "PATH": os.pathsep.join([str(Path(PYTHON).parent), os.environ.get("PATH", "")]),
        }
    )
    return env


def start_sandboxes(airflow: Airflow, qbo_port: int, invoiced_port: int) -> dict[str, str]:
    log = airflow.home / "sandboxes.log"
    options = {"sandbox.quickbooks": ["--batch-max-items", str(API_REFERENCE_BATCH)], "sandbox.invoiced": []}
    for module, port in (("sandbox.quickbooks", qbo_port), ("sandbox.invoiced", invoiced_port)):
        start(
            [PYTHON, "-m", module, "--host", "127.0.0.1", "--port", str(port), "--seed-demo", *options[module]],
            airflow.env,
            log,
            airflow,
        )
    qbo = wait_for(f"{airflow.qbo_url}/_sandbox/info", 60, "QuickBooks sandbox")
    invoiced = wait_for(f"{airflow.invoiced_url}/_sandbox/info", 60, "Invoiced sandbox")
    return connections(airflow.qbo_url, qbo, airflow.invoiced_url, invoiced)


def prepare(env: dict[str, str]) -> None:
    """Metadata DB and one pool per company, as `make run` and airflow-init do."""
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
    sys.path[:0] = [str(REPO / "plugins")]
    from accounting_sync.config.companies import load_companies

    for company in load_companies():
        subprocess.run(
            [
                AIRFLOW,
                "pools",
                "set",
                company.pool,
                str(company.pool_slots),
                f"QuickBooks API calls of {company.key}",
            ],
            env=env,
            check=True,
            capture_output=True,
        )


@contextlib.contextmanager
def running_airflow() -> Iterator[Airflow]:
    """Sandboxes (seeded) + `airflow standalone` on free ports; yields once signed-in works."""
    port, qbo_port, invoiced_port = free_port(), free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="airflow-e2e-") as tmp:
        home = Path(tmp)
        airflow = Airflow(
            url=f"http://127.0.0.1:{port}",
            home=home,
            env=airflow_env(home, port),
            qbo_url=f"http://127.0.0.1:{qbo_port}",
            invoiced_url=f"http://127.0.0.1:{invoiced_port}",
        )
        try:
            airflow.env.update(start_sandboxes(airflow, qbo_port, invoiced_port))
            prepare(airflow.env)
            start([AIRFLOW, "standalone"], airflow.env, home / "standalone.log", airflow)
            try:
                wait_for(f"{airflow.url}/api/v2/version", 180, "Airflow API server")
            except TimeoutError as error:
                raise TimeoutError(f"{error}\n{airflow.log_tail()}") from None
            passwords = home / "simple_auth_manager_passwords.json.generated"
            airflow.password = json.loads(passwords.read_text())["admin"]
            yield airflow
        finally:
            stop(airflow.processes)


def wire_webhooks(airflow: Airflow, company: str = "default") -> None:
    """Connect the company to its QBO sandbox and point both sandboxes' webhooks at the
    Accounting Sync endpoints, as `make run` does."""
    script = [PYTHON, str(REPO / "scripts" / "connect_sandbox.py"), "--webhooks", airflow.url, company]
    subprocess.run(script, env=airflow.env, check=True, capture_output=True)


def wait_for_dags(airflow: Airflow, dag_ids: list[str], seconds: float = 300) -> None:
    """The DAG processor has to parse the DAGs before Airflow can run them."""
    deadline = time.monotonic() + seconds
    while not set(dag_ids) <= {dag["dag_id"] for dag in airflow.api("dags", limit=100)["dags"]}:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{dag_ids} were not parsed in {seconds:.0f} s:\n{airflow.log_tail()}")
        time.sleep(1)


def dag_runs(airflow: Airflow, dag_id: str) -> list[dict[str, Any]]:
    """The DAG's runs, newest first."""
    return list(airflow.api(f"dags/{dag_id}/dagRuns", order_by="-run_after", limit=50)["dag_runs"])


def wait_until_idle(airflow: Airflow, dag_ids: list[str], seconds: float = 900) -> None:
    """No run of these DAGs queued or running (the webhook echo of a sync included)."""
    deadline = time.monotonic() + seconds
    while any(run["state"] in ("queued", "running") for dag_id in dag_ids for run in dag_runs(airflow, dag_id)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{dag_ids} still running after {seconds:.0f} s:\n{airflow.log_tail()}")
        time.sleep(1)


def issue_on_invoiced(airflow: Airflow, number: str) -> None:
    """An invoice issued on Invoiced, for the first demo customer."""
    key = requests.get(f"{airflow.invoiced_url}/_sandbox/info", timeout=10).json()["api_key"]
    customer = requests.get(f"{airflow.invoiced_url}/customers", params={"per_page": 1}, auth=(key, ""), timeout=10)
    body = {"customer": customer.json()[0]["id"], "number": number, "items": [{"name": "Hooked work", "unit_cost": 42}]}
    requests.post(f"{airflow.invoiced_url}/invoices", json=body, auth=(key, ""), timeout=10).raise_for_status()


def on_invoiced(airflow: Airflow, number: str) -> bool:
    key = requests.get(f"{airflow.invoiced_url}/_sandbox/info", timeout=10).json()["api_key"]
    found = requests.get(f"{airflow.invoiced_url}/invoices", params={"filter[number]": number}, auth=(key, ""), timeout=10)
    return bool(found.json())


def enter_in_quickbooks(airflow: Airflow, number: str) -> None:
    """An open invoice entered in QBO, as someone working in QuickBooks would."""
    from tests.support.sandboxes import Sandboxes

    boxes = Sandboxes.started(airflow.qbo_url, airflow.invoiced_url)
    customer = boxes.qbo_rows("Customer")[0]
    item = next(i for i in boxes.qbo_rows("Item") if i.get("Type") == "Service")
    line = {"Amount": 25.0, "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 1, "UnitPrice": 25.0}}
    boxes.qbo("invoice", "POST", {"DocNumber": number, "CustomerRef": {"value": customer["Id"]}, "Line": [line]})


def in_quickbooks(airflow: Airflow, number: str) -> bool:
    from tests.support.sandboxes import Sandboxes

    return bool(Sandboxes.started(airflow.qbo_url, airflow.invoiced_url).qbo_rows("Invoice", f"DocNumber = '{number}'"))
