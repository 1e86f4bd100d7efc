"""Prepare an Airflow deployment for the sync, after `airflow db migrate`.

Run by the compose service `airflow-init` on every `docker compose up`, and by the native
Celery topology test, so the test proves the same steps. Every step is safe to repeat:

- the state store's database (connection ``accounting_sync_db``) exists, with its tables,
  owned by the connection's own PostgreSQL role (created here) rather than a superuser;
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
    """Create the state store's PostgreSQL role and database if missing, then its tables."""
    from accounting_sync.config.connections import state_store_url
    from accounting_sync.store.facade import StateStore

    url = make_url(state_store_url())
    if url.get_backend_name() == "postgresql":
        _create_postgres_database(url, admin_url(url))
    StateStore(url.render_as_string(hide_password=False)).engine.dispose()
    return url


def admin_url(url: URL) -> URL:
    """Who may create roles and databases on the state store's server:
    ACCOUNTING_SYNC_DB_ADMIN_URL, else Airflow's metadata connection when it is on the
    same server (the compose file's postgres superuser), else the state store's own user."""
    override = os.environ.get("ACCOUNTING_SYNC_DB_ADMIN_URL")
    if override:
        return make_url(override)
    from airflow.configuration import conf

    metadata = make_url(conf.get("database", "sql_alchemy_conn"))
    same_server = metadata.get_backend_name() == "postgresql" and (metadata.host, metadata.port) == (url.host, url.port)
    return metadata if same_server else url


def _create_postgres_database(url: URL, admin: URL) -> None:
    """The state store gets a role of its own, owning its database and nothing else, so
    the sync's credentials reach neither Airflow's metadata nor another database.
    CREATE DATABASE cannot run in a transaction: an autocommit engine on the server's
    maintenance database does it."""
    engine = create_engine(admin.set(database="postgres"), isolation_level="AUTOCOMMIT")
    quote = engine.dialect.identifier_preparer.quote
    database, role = quote(str(url.database)), quote(str(url.username))
    try:
        with engine.connect() as connection:
            if url.username != admin.username:
                _ensure_role(connection, role, str(url.username), url.password)
            exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database})
            if not exists:
                connection.execute(text(f"CREATE DATABASE {database} OWNER {role}"))
            if url.username != admin.username:
                connection.execute(text(f"ALTER DATABASE {database} OWNER TO {role}"))
                connection.execute(text(f"REVOKE ALL ON DATABASE {database} FROM PUBLIC"))
    finally:
        engine.dispose()


def _ensure_role(connection: Any, role: str, name: str, password: str | None) -> None:
    """A login role without superuser, create-db or create-role rights; its password
    follows the connection's (the driver quotes it as a literal)."""
    exists = connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": name})
    verb = "ALTER" if exists else "CREATE"
    options = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
    if password:
        connection.execute(text(f"{verb} ROLE {role} {options} PASSWORD :password"), {"password": password})
    else:
        connection.execute(text(f"{verb} ROLE {role} {options}"))


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
