"""Prepare an Airflow deployment for the sync, after `airflow db migrate`.

Run by the compose service `airflow-init` on every `docker compose up`, and by the native
Celery topology test, so the test proves the same steps. Every step is safe to repeat:

- the state store's database (connection ``accounting_sync_db``) exists, with its tables;
- every company in include/companies.yaml has its pool: QBO's limits are per company and
  a pool is what caps a company's concurrent calls across all Celery workers;
- the UI login ``_AIRFLOW_WWW_USER_USERNAME`` has the password ``_AIRFLOW_WWW_USER_PASSWORD``
  (SimpleAuthManager's password file), when that variable is set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"


def create_state_database() -> URL:
    """Create the state store's PostgreSQL database if missing, then its tables."""
    from accounting_sync.config.connections import state_store_url
    from accounting_sync.store.facade import StateStore

    url = make_url(state_store_url())
    if url.get_backend_name() == "postgresql":
        _create_postgres_database(url)
    StateStore(url.render_as_string(hide_password=False)).engine.dispose()
    return url


def _create_postgres_database(url: URL) -> None:
    """CREATE DATABASE cannot run in a transaction, so this uses an autocommit engine on
    the server's maintenance database."""
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            )
            if not exists:
                quoted = engine.dialect.identifier_preparer.quote(str(url.database))
                connection.execute(text(f"CREATE DATABASE {quoted}"))
    finally:
        engine.dispose()


def pool_definitions() -> dict[str, dict[str, Any]]:
    """One pool per company, in the format of `airflow pools import`."""
    from accounting_sync.config.companies import load_companies

    return {
        company.pool: {
            "slots": company.pool_slots,
            "description": f"QuickBooks API calls of company {company.key}",
            "include_deferred": False,
        }
        for company in load_companies()
    }


def create_pools() -> list[str]:
    """Create or update the pools in one CLI call; slots follow include/companies.yaml."""
    pools = pool_definitions()
    with tempfile.NamedTemporaryFile("w", suffix=".json") as handle:
        json.dump(pools, handle)
        handle.flush()
        subprocess.run(
            [sys.executable, "-m", "airflow", "pools", "import", handle.name],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return sorted(pools)


def set_admin_password() -> str | None:
    """Write the login's password into SimpleAuthManager's file, keeping other users'."""
    password = os.environ.get("_AIRFLOW_WWW_USER_PASSWORD")
    if not password:
        return None
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    username = os.environ.get("_AIRFLOW_WWW_USER_USERNAME", "airflow")
    path = Path(SimpleAuthManager.get_generated_password_file())
    passwords = json.loads(path.read_text(encoding="utf-8") or "{}") if path.exists() else {}
    passwords[username] = password
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(passwords) + "\n", encoding="utf-8")
    return username


def main() -> None:
    sys.path.insert(0, str(PLUGINS))
    url = create_state_database()
    print(f"state store ready: {url.render_as_string(hide_password=True)}", flush=True)
    print(f"pools set: {', '.join(create_pools())}", flush=True)
    user = set_admin_password()
    print(f"password set for UI login {user!r}" if user else "no _AIRFLOW_WWW_USER_PASSWORD: login unchanged")


if __name__ == "__main__":
    main()
