"""`make run`: the whole product on one machine, in the foreground.

Starts both sandboxes with demo data, points the Airflow connections at them, seeds a
QuickBooks token, then runs `airflow standalone` on 127.0.0.1:8080 with an Airflow home
inside the repo. Ctrl-C stops everything it started; running it again is safe.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
HOME = Path(os.environ.get("AIRFLOW_HOME", REPO / ".airflow"))
QBO_PORT = int(os.environ.get("QBO_SANDBOX_PORT", "8100"))
INVOICED_PORT = int(os.environ.get("INVOICED_SANDBOX_PORT", "8200"))
UI_PORT = int(os.environ.get("AIRFLOW_PORT", "8080"))
CHILDREN: list[subprocess.Popen[bytes]] = []


def fernet_key() -> str:
    """One key per Airflow home, kept beside it (never in the repo)."""
    path = HOME / "fernet.key"
    if not path.exists():
        from cryptography.fernet import Fernet

        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return path.read_text().strip()


def airflow_env(connections: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__FERNET_KEY": fernet_key(),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(UI_PORT),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{UI_PORT}",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "plugins"), str(REPO), env.get("PYTHONPATH")])),
        }
    )
    for conn_id, value in connections.items():
        env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(value)
    return env


def start(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, start_new_session=True)
    CHILDREN.append(proc)
    return proc


def port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def wait_for(url: str, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return dict(requests.get(url, timeout=2).json())
        except (requests.RequestException, ValueError):
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not answer within {seconds:.0f} s") from None
            time.sleep(0.3)


def start_sandboxes() -> tuple[dict[str, Any], dict[str, Any]]:
    for port in (QBO_PORT, INVOICED_PORT, UI_PORT):
        if not port_free(port):
            raise SystemExit(f"Port {port} is in use: is another `make run` still running? Stop it first.")
    python = sys.executable
    start([python, "-m", "sandbox.quickbooks", "--host", "127.0.0.1", "--port", str(QBO_PORT), "--seed-demo"])
    start([python, "-m", "sandbox.invoiced", "--host", "127.0.0.1", "--port", str(INVOICED_PORT), "--seed-demo"])
    qbo = wait_for(f"http://127.0.0.1:{QBO_PORT}/_sandbox/info")
    invoiced = wait_for(f"http://127.0.0.1:{INVOICED_PORT}/_sandbox/info")
    return qbo, invoiced


def connections(qbo: dict[str, Any], invoiced: dict[str, Any]) -> dict[str, Any]:
    base = f"http://127.0.0.1:{QBO_PORT}"
    return {
        "quickbooks_default": {
            "conn_type": "http",
            "host": base,
            "login": qbo["client_id"],
            "password": qbo["client_secret"],
            "extra": {
                "authorize_url": f"{base}/connect/oauth2",
                "token_url": f"{base}/oauth2/v1/tokens/bearer",
                "revoke_url": f"{base}/oauth2/v1/tokens/revoke",
                "redirect_uri": f"http://127.0.0.1:{UI_PORT}/accounting-sync/callback",
            },
        },
        "invoiced_default": {
            "conn_type": "http",
            "host": f"http://127.0.0.1:{INVOICED_PORT}",
            "password": invoiced["api_key"],
        },
    }


def seed_token(env: dict[str, str], qbo_base: str) -> None:
    """Give the demo a connected QuickBooks company without the browser step."""
    token = requests.post(f"{qbo_base}/_sandbox/token", json={}, timeout=10).json()
    script = (
        "import json,sys\n"
        "from accounting_sync import runtime\n"
        "from accounting_sync.connections import get_airflow_connection, quickbooks_config\n"
        "from accounting_sync.tokens import TokenManager\n"
        "token = json.load(sys.stdin)\n"
        "store = runtime.open_store()\n"
        "company = runtime.company('default')\n"
        "config = quickbooks_config(get_airflow_connection(company.quickbooks_conn_id))\n"
        "manager = TokenManager(store, company.key, config)\n"
        "if manager.status() is None or manager.status().status != 'connected':\n"
        "    manager.save(token, token['realm_id'])\n"
    )
    subprocess.run([sys.executable, "-c", script], input=json.dumps(token).encode(), env=env, cwd=REPO, check=True)


def prepare_airflow(env: dict[str, str]) -> None:
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    from accounting_sync.companies import load_companies

    for company in load_companies():
        subprocess.run(
            [airflow, "pools", "set", company.pool, str(company.pool_slots), f"QuickBooks API calls of {company.key}"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )


def print_login() -> None:
    passwords = HOME / "simple_auth_manager_passwords.json.generated"
    deadline = time.monotonic() + 120
    while not passwords.exists() and time.monotonic() < deadline:
        time.sleep(1)
    password = json.loads(passwords.read_text()).get("admin", "?") if passwords.exists() else "(see the log above)"
    wait_for(f"http://127.0.0.1:{UI_PORT}/api/v2/version", seconds=180)
    print(
        "\n" + "=" * 70
        + f"\n  Airflow UI:  http://127.0.0.1:{UI_PORT}   (login: admin / {password})"
        + f"\n  Accounting Sync page: http://127.0.0.1:{UI_PORT}/accounting-sync/"
        + f"\n  Sandboxes:   QuickBooks http://127.0.0.1:{QBO_PORT}  Invoiced http://127.0.0.1:{INVOICED_PORT}"
        + "\n  Ctrl-C stops everything.\n" + "=" * 70,
        flush=True,
    )


def stop_children(*_: Any) -> None:
    for proc in reversed(CHILDREN):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for proc in CHILDREN:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit(0)


def main() -> None:
    HOME.mkdir(parents=True, exist_ok=True)
    sys.path[:0] = [str(REPO / "plugins"), str(REPO)]
    signal.signal(signal.SIGINT, stop_children)
    signal.signal(signal.SIGTERM, stop_children)
    qbo, invoiced = start_sandboxes()
    env = airflow_env(connections(qbo, invoiced))
    os.environ.update({k: v for k, v in env.items() if k.startswith("AIRFLOW")})
    prepare_airflow(env)
    seed_token(env, f"http://127.0.0.1:{QBO_PORT}")
    airflow = start([str(Path(sys.executable).with_name("airflow")), "standalone"], env=env)
    print_login()
    airflow.wait()
    stop_children()


if __name__ == "__main__":
    main()
