"""The docker-compose topology, without Docker: two companies sync at once on Celery.

PostgreSQL (Airflow's metadata and Celery's results in database ``airflow``, the state
store in ``accounting_sync``) and Redis (the broker) are real servers. Airflow runs as
docker-compose.yaml runs it: api-server, scheduler, dag-processor and two Celery workers,
prepared by the same scripts/deploy_init.py as the compose service airflow-init. Each
company has its own QuickBooks and Invoiced sandbox, started with the compose command
line. Both companies' qbo_sync DAGs are triggered at once through the REST API; then each
QuickBooks company is compared with its Invoiced account through the sandboxes' APIs.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.plugins import plugins_folder
from tests.support.sandboxes import API_REFERENCE_BATCH
from tests.support.services import free_port, postgres_server, redis_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
AIRFLOW = [PYTHON, "-m", "airflow"]
COMPANIES = ("acme", "globex")
WORKERS = ("worker1", "worker2")
FAILING = {"failed", "up_for_retry", "upstream_failed"}
T = TypeVar("T")


@dataclass(frozen=True)
class Sandboxes:
    """One company's QuickBooks and Invoiced sandboxes and the credentials they accept."""

    qbo: str
    qbo_client_id: str
    qbo_client_secret: str
    invoiced: str
    invoiced_api_key: str


@dataclass
class Topology:
    api: str
    password: str
    logs: Path
    sandboxes: dict[str, Sandboxes] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        """Start a process in its own session, its output in logs/<name>.log."""
        with open(self.logs / f"{name}.log", "wb") as log:
            self.processes[name] = subprocess.Popen(
                cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def log_tails(self, lines: int = 25) -> str:
        parts = []
        for name in sorted(self.processes):
            quiet = [line for line in self.log(name).splitlines() if "[http.access]" not in line]
            parts.append(f"--- {name}\n" + "\n".join(quiet[-lines:]))
        return "\n".join(parts)

    def wait_until(self, what: str, probe: Callable[[], T | None], seconds: float) -> T:
        """Poll until probe() returns something; fail early when a process dies."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                result = probe()
                if result is not None:
                    return result
            dead = [name for name, proc in self.processes.items() if proc.poll() is not None]
            assert not dead, f"{dead} exited while waiting for {what}\n{self.log_tails()}"
            time.sleep(1)
        raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}\n{self.log_tails()}")

    def stop(self) -> None:
        """SIGTERM every process group this test started, then SIGKILL what is left."""
        for proc in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.processes.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def run(cmd: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


# -- the topology -----------------------------------------------------------------------------


def create_databases(server_url: str, names: tuple[str, ...]) -> dict[str, str]:
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        for name in names:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    url = make_url(server_url)
    return {name: url.set(database=name).render_as_string(hide_password=False) for name in names}


def start_sandboxes(topology: Topology, company: str) -> Sandboxes:
    """A company's two sandboxes, given their credentials through the compose file's variables."""
    qbo_port, invoiced_port = free_port(), free_port()
    box = Sandboxes(
        qbo=f"http://127.0.0.1:{qbo_port}",
        qbo_client_id=f"client-{company}",
        qbo_client_secret=secrets.token_urlsafe(16),
        invoiced=f"http://127.0.0.1:{invoiced_port}",
        invoiced_api_key=secrets.token_urlsafe(16),
    )
    env = {
        **os.environ,
        "QBO_SANDBOX_CLIENT_ID": box.qbo_client_id,
        "QBO_SANDBOX_CLIENT_SECRET": box.qbo_client_secret,
        "INVOICED_SANDBOX_API_KEY": box.invoiced_api_key,
        "QBO_SANDBOX_BATCH_MAX_ITEMS": str(API_REFERENCE_BATCH),
    }
    for kind, port in (("quickbooks", qbo_port), ("invoiced", invoiced_port)):
        cmd = [PYTHON, "-m", f"sandbox.{kind}", "--host", "127.0.0.1", "--port", str(port), "--seed-demo"]
        topology.start(f"{kind}-sandbox-{company}", cmd, env)
    return box


def connections(company: str, box: Sandboxes) -> dict[str, str]:
    """AIRFLOW_CONN_* of one company, in the shape of scripts/run_local.py and .env.example."""
    quickbooks = {
        "conn_type": "quickbooks",
        "host": box.qbo,
        "login": box.qbo_client_id,
        "password": box.qbo_client_secret,
        "extra": {
            "environment": "local",
            "authorize_url": f"{box.qbo}/connect/oauth2",
            "token_url": f"{box.qbo}/oauth2/v1/tokens/bearer",
            "revoke_url": f"{box.qbo}/oauth2/v1/tokens/revoke",
        },
    }
    invoiced = {"conn_type": "invoiced", "host": box.invoiced, "password": box.invoiced_api_key}
    return {
        f"AIRFLOW_CONN_QUICKBOOKS_{company.upper()}": json.dumps(quickbooks),
        f"AIRFLOW_CONN_INVOICED_{company.upper()}": json.dumps(invoiced),
    }


def companies_file(directory: Path) -> Path:
    path = directory / "companies.yaml"
    entries = "".join(
        f"  - key: {key}\n    invoiced_conn_id: invoiced_{key}\n    quickbooks_conn_id: quickbooks_{key}\n"
        for key in COMPANIES
    )
    path.write_text("companies:\n" + entries, encoding="utf-8")
    return path


def airflow_env(
    home: Path, databases: dict[str, str], broker: str, api_port: int, password: str
) -> dict[str, str]:
    """x-airflow-common of docker-compose.yaml, pointed at the local servers. The QuickBooks
    tokens are encrypted with Airflow's fernet key, as in compose."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "ACCOUNTING"))}
    state_store = make_url(databases["accounting_sync"]).set(drivername="postgres")
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": databases["airflow"],
            "AIRFLOW__CELERY__BROKER_URL": broker,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + databases["airflow"],
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_folder(home)),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "auth" / "passwords.json"),
            "_AIRFLOW_WWW_USER_USERNAME": "admin",
            "_AIRFLOW_WWW_USER_PASSWORD": password,
            "AIRFLOW_CONN_ACCOUNTING_SYNC_DB": state_store.render_as_string(hide_password=False),
            "ACCOUNTING_SYNC_COMPANIES_FILE": str(companies_file(home)),
            "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)]),
        }
    )
    return env


def start_airflow(topology: Topology, env: dict[str, str]) -> None:
    for component in ("api-server", "scheduler", "dag-processor"):
        topology.start(component, [*AIRFLOW, component], env)
    for name in WORKERS:
        # Concurrency 1, so two tasks at once need both workers; each serves its logs on its own port.
        worker_env = {**env, "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())}
        cmd = [*AIRFLOW, "celery", "worker", "--celery-hostname", f"{name}@%h", "--concurrency", "1"]
        topology.start(name, cmd, worker_env)


def answers(url: str) -> Callable[[], bool | None]:
    return lambda: requests.get(url, timeout=5).ok or None


@pytest.fixture(scope="module")
def topology() -> Iterator[Topology]:
    with contextlib.ExitStack() as stack:
        home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="celery-topology-")))
        (home / "process-logs").mkdir()
        databases = create_databases(stack.enter_context(postgres_server()), ("airflow", "accounting_sync"))
        broker = stack.enter_context(redis_server())
        api_port = free_port()
        topo = Topology(f"http://127.0.0.1:{api_port}", secrets.token_urlsafe(16), home / "process-logs")
        stack.callback(topo.stop)
        env = airflow_env(home, databases, broker, api_port, topo.password)
        for company in COMPANIES:
            topo.sandboxes[company] = start_sandboxes(topo, company)
            env.update(connections(company, topo.sandboxes[company]))
        for box in topo.sandboxes.values():
            for base in (box.qbo, box.invoiced):
                topo.wait_until(f"the sandbox at {base}", answers(f"{base}/_sandbox/info"), 60)
        run([*AIRFLOW, "db", "migrate"], env)
        print(run([PYTHON, "scripts/deploy_init.py"], env))
        print(run([PYTHON, "scripts/connect_sandbox.py", *COMPANIES], env))
        start_airflow(topo, env)
        topo.wait_until("the API server", answers(f"{topo.api}/api/v2/monitor/health"), 120)
        yield topo


# -- Airflow's REST API -----------------------------------------------------------------------


class Api:
    """REST API v2 with a JWT from ``POST /auth/token``."""

    def __init__(self, topology: Topology) -> None:
        self.base = f"{topology.api}/api/v2"
        login = {"username": "admin", "password": topology.password}
        response = requests.post(f"{topology.api}/auth/token", json=login, timeout=30)
        assert response.status_code == 201, response.text
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def __call__(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.base}{path}", timeout=30, **kwargs)
        assert response.ok, f"{method} {path}: {response.status_code} {response.text[:500]}"
        return response.json()

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return list(self("GET", f"/dags/{dag_id}/dagRuns")["dag_runs"])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return list(self("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"])

    def failing_tasks(self, run: dict[str, Any]) -> list[dict[str, Any]]:
        return [ti for ti in self.task_instances(run["dag_id"], run["dag_run_id"]) if ti["state"] in FAILING]

    def failure_report(self, run: dict[str, Any]) -> str:
        """A run's failing tasks with the end of their logs: what the pipeline said."""
        dag_id, run_id = run["dag_id"], run["dag_run_id"]
        parts = [f"{dag_id} run {run_id}: {run['state']}"]
        for ti in self.failing_tasks(run):
            task = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}"
            path = f"{task}/logs/{ti['try_number'] or 1}"
            content = self("GET", path, headers={"Accept": "application/json"})["content"]
            events = [log_line(line) for line in content]
            parts.append(f"{dag_id}.{ti['task_id']} [{ti['state']}]\n" + "\n".join(events[-40:]))
        return "\n".join(parts)


def log_line(line: Any) -> str:
    """A structured task-log line as text, with the exception it carries."""
    if not isinstance(line, dict):
        return str(line)
    errors = [f"  {e.get('exc_type')}: {e.get('exc_value')}" for e in line.get("error_detail") or []]
    return "\n".join([str(line.get("event", "")), *errors])


# -- the two services' data -------------------------------------------------------------------


def invoiced_list(box: Sandboxes, path: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    while True:
        params = {"per_page": 100, "page": len(records) // 100 + 1}
        auth = (box.invoiced_api_key, "")
        response = requests.get(f"{box.invoiced}{path}", params=params, auth=auth, timeout=30)
        response.raise_for_status()
        records.extend(response.json())
        if len(records) >= int(response.headers["X-Total-Count"]):
            return records


def qbo_rows(box: Sandboxes, entity: str) -> list[dict[str, Any]]:
    token = requests.post(f"{box.qbo}/_sandbox/token", json={}, timeout=30).json()
    headers = {"Authorization": f"Bearer {token['access_token']}", "Accept": "application/json"}
    rows: list[dict[str, Any]] = []
    while True:
        query = f"SELECT * FROM {entity} STARTPOSITION {len(rows) + 1} MAXRESULTS 1000"
        url = f"{box.qbo}/v3/company/{token['realm_id']}/query"
        response = requests.get(url, params={"query": query}, headers=headers, timeout=30)
        response.raise_for_status()
        page = response.json()["QueryResponse"].get(entity, [])
        rows.extend(page)
        if len(page) < 1000:
            return rows


def synced(rows: list[dict[str, Any]], note_field: str, label: str) -> dict[str, dict[str, Any]]:
    """The QBO records the sync wrote, by the Invoiced id noted on each ("Invoiced invoice 12")."""
    pattern = re.compile(rf"^Invoiced {label} (\d+)")
    matches = ((pattern.match(row.get(note_field) or ""), row) for row in rows)
    return {match.group(1): row for match, row in matches if match}


def expected_qbo_balance(invoice: dict[str, Any]) -> Decimal:
    """Invoiced's balance, except for bad debt ("closed and not paid", the guide's rule),
    which the sync writes off in QuickBooks with a credit memo."""
    if invoice["status"] == "bad_debt" or (invoice["closed"] and not invoice["paid"]):
        return Decimal(0)
    return Decimal(str(invoice["balance"]))


def amount(row: dict[str, Any], key: str) -> Decimal:
    return Decimal(str(row[key]))


def company_result(box: Sandboxes) -> dict[str, Any]:
    """Check one QBO company against its Invoiced account; return its figures."""
    issued = [i for i in invoiced_list(box, "/invoices") if not i["draft"] and i["status"] != "voided"]
    invoices = {str(invoice["id"]): invoice for invoice in issued}
    live_payments = {str(p["id"]) for p in invoiced_list(box, "/payments") if not p["voided"]}
    customers = {str(c["id"]) for c in invoiced_list(box, "/customers")}
    qbo_invoices = synced(qbo_rows(box, "Invoice"), "PrivateNote", "invoice")
    qbo_payments = synced(qbo_rows(box, "Payment"), "PrivateNote", "payment")
    qbo_customers = synced(qbo_rows(box, "Customer"), "Notes", "customer")

    assert set(qbo_invoices) == set(invoices), "QBO's invoices are not Invoiced's non-draft, non-void ones"
    for invoice_id, invoice in invoices.items():
        row = qbo_invoices[invoice_id]
        assert amount(row, "TotalAmt") == amount(invoice, "total"), f"total of invoice {invoice_id}"
        assert amount(row, "Balance") == expected_qbo_balance(invoice), f"balance of invoice {invoice_id}"
    assert set(qbo_payments) <= live_payments, "a QBO payment has no live Invoiced payment"
    assert {str(i["customer"]) for i in invoices.values()} <= set(qbo_customers) <= customers
    return {
        "invoices": len(qbo_invoices),
        "invoice_total": sum(amount(row, "TotalAmt") for row in qbo_invoices.values()),
        "open_balance": sum(amount(row, "Balance") for row in qbo_invoices.values()),
        "payments": len(qbo_payments),
        "payment_total": sum(amount(row, "TotalAmt") for row in qbo_payments.values()),
        "customers": len(qbo_customers),
    }


def run_seconds(run: dict[str, Any]) -> float:
    started, ended = (datetime.fromisoformat(run[key]) for key in ("start_date", "end_date"))
    return round((ended - started).total_seconds(), 1)


def tasks_run_by(topology: Topology, worker: str) -> list[str]:
    """``dag_id.task_id`` of every Celery task the worker's log says it executed."""
    found: dict[str, str] = {}
    for line in topology.log(worker).splitlines():
        celery_id = re.search(r"\[([0-9a-f-]{36})\] Executing workload", line)
        dag_id, task_id = re.search(r"dag_id='([^']+)'", line), re.search(r"task_id='([^']+)'", line)
        if celery_id and dag_id and task_id:
            found[celery_id.group(1)] = f"{dag_id.group(1)}.{task_id.group(1)}"
    return sorted(found.values())


# -- the test ---------------------------------------------------------------------------------


def test_two_companies_sync_at_once_on_two_celery_workers(topology: Topology) -> None:
    api = Api(topology)
    dag_ids = [f"qbo_sync__{company}" for company in COMPANIES]
    for dag_id in dag_ids:
        topology.wait_until(f"{dag_id} to be parsed", lambda d=dag_id: api("GET", f"/dags/{d}"), 120)
    for dag_id in dag_ids:
        api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
    now = {"logical_date": None}
    triggered = {dag_id: api("POST", f"/dags/{dag_id}/dagRuns", json=now) for dag_id in dag_ids}

    def finished_or_failing() -> list[dict[str, Any]] | None:
        # Unpausing an hourly DAG may also start a scheduled run: wait for every run. A task
        # failing, even if it would be retried minutes later, ends the wait with its log.
        runs = [run for dag_id in dag_ids for run in api.runs(dag_id)]
        if all(run["state"] in ("success", "failed") for run in runs):
            return runs
        return runs if any(api.failing_tasks(run) for run in runs if run["state"] == "running") else None

    runs = topology.wait_until("both qbo_sync runs", finished_or_failing, 240)
    unsuccessful = [run for run in runs if run["state"] != "success"]
    assert not unsuccessful, "qbo_sync failed:\n" + "\n".join(api.failure_report(run) for run in unsuccessful)
    print("\nruns:", [(run["dag_id"], run["run_type"], run_seconds(run)) for run in runs])

    for company, dag_id in zip(COMPANIES, dag_ids, strict=True):
        tis = api.task_instances(dag_id, triggered[dag_id]["dag_run_id"])
        load = next(ti for ti in tis if ti["task_id"] == "load")
        assert load["pool"] == f"quickbooks_api__{company}"

    results = {company: company_result(topology.sandboxes[company]) for company in COMPANIES}
    print(f"\nQBO results per company: {results}")
    assert results["acme"]["invoices"] and results["acme"]["payments"]
    assert results["acme"] == results["globex"], "the same demo data gave the two companies different results"

    ran_on = {name: tasks_run_by(topology, name) for name in WORKERS}
    print(f"tasks per Celery worker: {ran_on}")
    assert all(ran_on.values()), f"a Celery worker ran no task: {ran_on}"
