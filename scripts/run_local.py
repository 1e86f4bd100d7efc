"""`make run`: the whole product on one machine, in the foreground.

Starts both sandboxes with demo data, points the Airflow connections at them, seeds a
QuickBooks token, then runs `airflow standalone` on 127.0.0.1:8080 with an Airflow home
inside the repo, and has both sandboxes send their webhooks to the Accounting Sync
endpoints. Ctrl-C stops everything it started; running it again is safe.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import requests

REPO = Path(__file__).resolve().parents[1]
HOME = Path(os.environ.get("AIRFLOW_HOME", REPO / ".airflow"))
QBO_PORT = int(os.environ.get("QBO_SANDBOX_PORT", "8100"))
INVOICED_PORT = int(os.environ.get("INVOICED_SANDBOX_PORT", "8200"))
UI_PORT = int(os.environ.get("AIRFLOW_PORT", "8080"))
CHILDREN: list[subprocess.Popen[bytes]] = []
WEBHOOK_SECRETS = {"quickbooks": secrets.token_urlsafe(24), "invoiced": secrets.token_urlsafe(24)}
"""New with every run, like the sandboxes they are shared with."""


def fernet_key() -> str:
    """One key per Airflow home, kept beside it (never in the repo)."""
    path = HOME / "fernet.key"
    if not path.exists():
        from cryptography.fernet import Fernet

        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return path.read_text().strip()


def plugins_folder() -> Path:
    """Where Airflow looks for plugin files. Installed (``make run`` installs the project,
    editable), the pages come from the package's entry point, so the folder is an empty
    one in the Airflow home: the repository's plugins/ would register them a second time."""
    from importlib.metadata import entry_points

    if any(ep.name == "accounting_sync" for ep in entry_points(group="airflow.plugins")):
        folder = HOME / "plugins"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return REPO / "plugins"


def airflow_env(connections: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_folder()),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__FERNET_KEY": fernet_key(),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(UI_PORT),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{UI_PORT}",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "plugins"), str(REPO), env.get("PYTHONPATH")])),
            # standalone starts its components as `airflow ...` from PATH
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
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
            "conn_type": "quickbooks",
            "host": base,
            "login": qbo["client_id"],
            "password": qbo["client_secret"],
            "extra": {
                "environment": "local",
                "authorize_url": f"{base}/connect/oauth2",
                "token_url": f"{base}/oauth2/v1/tokens/bearer",
                "revoke_url": f"{base}/oauth2/v1/tokens/revoke",
                "redirect_uri": f"http://127.0.0.1:{UI_PORT}/accounting-sync/callback",
                "webhook_verifier_token": WEBHOOK_SECRETS["quickbooks"],
            },
        },
        "invoiced_default": {
            "conn_type": "invoiced",
            "host": f"http://127.0.0.1:{INVOICED_PORT}",
            "password": invoiced["api_key"],
            "extra": {"webhook_secret": WEBHOOK_SECRETS["invoiced"]},
        },
    }


def prepare_airflow(env: dict[str, str]) -> None:
    """The same steps a compose deployment runs: migrate, state store, pools; then
    connect the demo company to the freshly started QuickBooks sandbox, and have both
    sandboxes send their webhooks to this Airflow."""
    python = sys.executable
    subprocess.run([python, "-m", "airflow", "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([python, str(REPO / "scripts" / "deploy_init.py")], env=env, check=True)
    subprocess.run([python, str(REPO / "scripts" / "connect_sandbox.py"), "--webhooks", f"http://127.0.0.1:{UI_PORT}",
                    "default"], env=env, check=True)


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
    """Stop everything started here, grandchildren included: the scheduler and its
    executor workers leave standalone's process group, so the group alone is not enough."""
    everything: list[psutil.Process] = []
    for proc in CHILDREN:
        with contextlib.suppress(psutil.NoSuchProcess):
            parent = psutil.Process(proc.pid)
            everything += [parent, *parent.children(recursive=True)]
    for process in everything:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    _, alive = psutil.wait_procs(everything, timeout=20)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    raise SystemExit(0)


def main() -> None:
    HOME.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGINT, stop_children)
    signal.signal(signal.SIGTERM, stop_children)
    qbo, invoiced = start_sandboxes()
    env = airflow_env(connections(qbo, invoiced))
    prepare_airflow(env)
    airflow = start([str(Path(sys.executable).with_name("airflow")), "standalone"], env=env)
    print_login()
    airflow.wait()
    stop_children()


if __name__ == "__main__":
    main()
