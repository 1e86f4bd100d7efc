"""Reading the Airflow connections the pipeline needs, into typed configs.

``quickbooks_default`` (HTTP): host = API base URL, login = client id, password = client
secret; extra may set ``environment`` (production | sandbox), ``authorize_url``,
``token_url``, ``revoke_url``, ``redirect_uri``, ``rate_limit`` and ``timeout``.
``invoiced_default`` (HTTP): host = API base URL, password = API key.
``accounting_sync_db``: the state store; without it a SQLite file in the Airflow home.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Protocol

INTUIT_AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
INTUIT_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
INTUIT_REVOKE_URL = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
INTUIT_API_BASE = {
    "production": "https://quickbooks.api.intuit.com",
    "sandbox": "https://sandbox-quickbooks.api.intuit.com",
}
QBO_SCOPE = "com.intuit.quickbooks.accounting"


class ConnectionLike(Protocol):
    conn_type: str | None
    host: str | None
    login: str | None
    password: str | None
    port: int | None
    schema: str | None

    @property
    def extra_dejson(self) -> dict[str, Any]: ...


class MissingConnection(LookupError):
    pass


@dataclass(frozen=True)
class RateLimits:
    """QBO's documented per-company limits; benchmarks shrink the window."""

    requests_per_window: int = 500
    batch_per_window: int = 40
    concurrent: int = 10
    window_seconds: float = 60.0
    throttle_wait_seconds: float = 60.0


@dataclass(frozen=True)
class QuickBooksConfig:
    api_base: str
    client_id: str
    client_secret: str = field(repr=False)
    authorize_url: str = INTUIT_AUTHORIZE_URL
    token_url: str = INTUIT_TOKEN_URL
    revoke_url: str = INTUIT_REVOKE_URL
    redirect_uri: str | None = None
    realm_id: str | None = None
    timeout: float = 60.0
    limits: RateLimits = RateLimits()


@dataclass(frozen=True)
class InvoicedConfig:
    api_base: str
    api_key: str = field(repr=False)
    timeout: float = 60.0
    concurrency: int = 5


def get_airflow_connection(conn_id: str) -> ConnectionLike:
    """A connection from wherever Airflow keeps it. Inside a task the Task SDK asks the API
    server (metadata DB, env vars, secrets backends); elsewhere (the UI plugin in the API
    server, scripts) the SDK only sees env vars and secrets backends, so the metadata DB
    is asked directly."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        if _inside_task():
            raise MissingConnection(f"Airflow connection {conn_id!r} is not defined") from None
    try:
        from airflow.models.connection import Connection

        return Connection.get_connection_from_secrets(conn_id)
    except Exception:  # noqa: BLE001 - no metadata DB here, or no such connection
        raise MissingConnection(f"Airflow connection {conn_id!r} is not defined") from None


def _inside_task() -> bool:
    from airflow.sdk.execution_time import task_runner

    return hasattr(task_runner, "SUPERVISOR_COMMS")


def _base_url(conn: ConnectionLike) -> str:
    host = (conn.host or "").rstrip("/")
    if "://" not in host:
        scheme = conn.schema or "https"
        host = f"{scheme}://{host}"
    return f"{host}:{conn.port}" if conn.port else host


def quickbooks_config(conn: ConnectionLike) -> QuickBooksConfig:
    extra = conn.extra_dejson
    environment = extra.get("environment", "production")
    api_base = _base_url(conn) if conn.host else INTUIT_API_BASE[environment]
    limits = RateLimits(**extra.get("rate_limit", {}))
    return QuickBooksConfig(
        api_base=api_base,
        client_id=conn.login or "",
        client_secret=conn.password or "",
        authorize_url=extra.get("authorize_url", INTUIT_AUTHORIZE_URL),
        token_url=extra.get("token_url", INTUIT_TOKEN_URL),
        revoke_url=extra.get("revoke_url", INTUIT_REVOKE_URL),
        redirect_uri=extra.get("redirect_uri"),
        realm_id=extra.get("realm_id"),
        timeout=float(extra.get("timeout", 60)),
        limits=limits,
    )


def invoiced_config(conn: ConnectionLike) -> InvoicedConfig:
    extra = conn.extra_dejson
    return InvoicedConfig(
        api_base=_base_url(conn),
        api_key=conn.password or conn.login or "",
        timeout=float(extra.get("timeout", 60)),
        concurrency=int(extra.get("concurrency", 5)),
    )


def state_store_url(conn_id: str = "accounting_sync_db") -> str:
    """The state store's SQLAlchemy URL; a SQLite file in the Airflow home by default."""
    try:
        conn = get_airflow_connection(conn_id)
    except MissingConnection:
        home = os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow"))
        return f"sqlite:///{os.path.join(home, 'accounting_sync.db')}"
    extra = conn.extra_dejson
    if extra.get("sqlalchemy_url"):
        return str(extra["sqlalchemy_url"])
    if conn.conn_type == "sqlite":
        return f"sqlite:///{conn.host}"
    credentials = conn.login or ""
    if conn.password:
        from urllib.parse import quote

        credentials += ":" + quote(conn.password, safe="")
    port = f":{conn.port}" if conn.port else ""
    return f"postgresql+psycopg2://{credentials}@{conn.host}{port}/{conn.schema or 'accounting_sync'}"
