"""What the pipeline's Airflow connections hold, read into typed configs.

``quickbooks`` connections (``quickbooks_default`` and one per company): login = client
ID, password = client secret; extra: ``environment`` (production | sandbox),
``redirect_uri``, ``timeout``, the rate limits, ``webhook_verifier_token`` (the Intuit
app's webhook verifier token), and for a local stand-in of Intuit ``host`` (API base)
with ``authorize_url``, ``token_url`` and ``revoke_url``.
``invoiced`` connections: host = API URL (production by default), password = API key;
extra: ``timeout``, ``concurrency``, ``webhook_secret`` (the account's webhook secret)
and any HTTP provider option.
``accounting_sync_db``: the state store; without it a SQLite file in the Airflow home.

Every lookup goes through ``lookup_connection`` (the hooks use it too); the rest of this
module validates what connections hold, so a wrong extra is reported by name instead of failing later
with a ``KeyError``. Connections created before the two types existed are typed ``http``
with the same fields: they keep working, with a warning saying how to retype them.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, ValidationError

log = logging.getLogger(__name__)

INTUIT_AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
INTUIT_TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
INTUIT_REVOKE_URL = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
INTUIT_API_BASE = {
    "production": "https://quickbooks.api.intuit.com",
    "sandbox": "https://sandbox-quickbooks.api.intuit.com",
}
INVOICED_API_BASE = "https://api.invoiced.com"
QBO_SCOPE = "com.intuit.quickbooks.accounting"

QUICKBOOKS_CONN_TYPE = "quickbooks"
INVOICED_CONN_TYPE = "invoiced"
LEGACY_CONN_TYPE = "http"
"""The type both connections had before the provider registered its own."""


class ConnectionLike(Protocol):
    conn_type: str | None
    host: str | None
    login: str | None
    password: str | None
    port: int | None
    schema: str | None

    @property
    def conn_id(self) -> str | None: ...

    @property
    def extra_dejson(self) -> dict[str, Any]: ...


class ConnectionUnusable(Exception):
    """A connection the pipeline cannot use; the message says which one and why."""


class MissingConnection(ConnectionUnusable, LookupError):
    pass


class InvalidConnection(ConnectionUnusable, ValueError):
    """The connection exists but a field or an extra is wrong (named in the message)."""


@dataclass(frozen=True)
class RateLimits:
    """QBO's documented per-company limits; benchmarks shrink the window."""

    requests_per_window: int = 500
    batch_per_window: int = 40
    concurrent: int = 10
    window_seconds: float = 60.0
    throttle_wait_seconds: float = 60.0
    batches_in_flight: int = 5
    """Our choice, not QBO's: transaction batches one load keeps outstanding (never more
    than ``concurrent``). Under QBO's answer times (seconds for a batch of 30) one at a
    time reaches a fraction of the 40 batches a minute; five reach it even at answers a
    few times slower, and leave half of the 10 concurrent requests free."""


@dataclass(frozen=True)
class QuickBooksConfig:
    api_base: str
    client_id: str
    client_secret: str = field(repr=False)
    authorize_url: str = INTUIT_AUTHORIZE_URL
    token_url: str = INTUIT_TOKEN_URL
    revoke_url: str = INTUIT_REVOKE_URL
    redirect_uri: str | None = None
    timeout: float = 60.0
    limits: RateLimits = RateLimits()
    environment: Literal["production", "sandbox", "local"] = "production"
    webhook_verifier_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class InvoicedConfig:
    api_base: str
    api_key: str = field(repr=False)
    timeout: float = 60.0
    concurrency: int = 5
    webhook_secret: str | None = field(default=None, repr=False)


# -- extras, validated ------------------------------------------------------------------


class RateLimitExtra(BaseModel):
    """The full ``rate_limit`` object (every knob of ``RateLimits``), for tuning and tests."""

    model_config = ConfigDict(extra="forbid")

    requests_per_window: PositiveInt | None = None
    batch_per_window: PositiveInt | None = None
    concurrent: PositiveInt | None = None
    window_seconds: PositiveFloat | None = None
    throttle_wait_seconds: float | None = Field(None, ge=0)
    batches_in_flight: PositiveInt | None = None


class QuickBooksExtra(BaseModel):
    """The extras of a ``quickbooks`` connection. Unknown keys are refused: a misspelt
    field would otherwise be ignored in silence. ``None`` (an empty form field) is unset."""

    model_config = ConfigDict(extra="forbid")

    environment: Literal["production", "sandbox", "local"] | None = None
    redirect_uri: str | None = None
    timeout: PositiveFloat | None = None
    rate_limit_requests: PositiveInt | None = None
    rate_limit_batches: PositiveInt | None = None
    rate_limit_concurrent: PositiveInt | None = None
    rate_limit: RateLimitExtra | None = None
    authorize_url: str | None = None
    token_url: str | None = None
    revoke_url: str | None = None
    webhook_verifier_token: str | None = None

    def limits(self) -> RateLimits:
        """``rate_limit`` first, the three form fields over it."""
        values = self.rate_limit.model_dump(exclude_none=True) if self.rate_limit else {}
        for key, value in (
            ("requests_per_window", self.rate_limit_requests),
            ("batch_per_window", self.rate_limit_batches),
            ("concurrent", self.rate_limit_concurrent),
        ):
            if value is not None:
                values[key] = value
        return RateLimits(**values)


class InvoicedExtra(BaseModel):
    """The extras of an ``invoiced`` connection that the pipeline reads. Other keys are
    the HTTP provider's (``verify``, ``proxies``, headers...) and pass through."""

    model_config = ConfigDict(extra="allow")

    timeout: PositiveFloat | None = None
    concurrency: PositiveInt | None = None
    webhook_secret: str | None = None


SECRET_EXTRAS = frozenset({"webhook_secret", "webhook_verifier_token"})
"""Extras whose value an error message must not repeat."""


def _describe(conn_id: str, error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        shown = item["type"] != "extra_forbidden" and "input" in item and not SECRET_EXTRAS & set(map(str, item["loc"]))
        got = f" (got {item['input']!r})" if shown else ""
        message = "unknown field" if item["type"] == "extra_forbidden" else item["msg"]
        problems.append(f"extra field {where!r}: {message}{got}")
    return f"Connection {conn_id!r} is invalid: " + "; ".join(problems)


def _extra(conn: ConnectionLike, conn_id: str) -> dict[str, Any]:
    """The extra as a dict; malformed JSON is an error here (the SDK would log it and
    return ``{}``, so every field would silently fall back to its default)."""
    raw = getattr(conn, "extra", None)
    if isinstance(raw, str) and raw.strip():
        try:
            parsed = json.loads(raw)
        except ValueError as error:
            raise InvalidConnection(f"Connection {conn_id!r} is invalid: its extra is not JSON ({error})") from None
        if not isinstance(parsed, dict):
            raise InvalidConnection(f"Connection {conn_id!r} is invalid: its extra must be a JSON object")
    extra = conn.extra_dejson
    return dict(extra) if isinstance(extra, dict) else {}


_warned_legacy: set[str] = set()


def check_conn_type(conn: ConnectionLike, expected: str) -> None:
    """Refuse a connection of another type; accept the old ``http`` type with a warning."""
    conn_id = conn.conn_id or "?"
    actual = (conn.conn_type or "").lower().replace("-", "_")
    if actual in ("", expected):
        return
    if actual == LEGACY_CONN_TYPE:
        if conn_id not in _warned_legacy:
            _warned_legacy.add(conn_id)
            log.warning(
                "Connection %r is typed 'http'; retype it as %r (the fields stay the same): "
                "edit it in Admin > Connections, or change \"conn_type\" in its AIRFLOW_CONN_* JSON. "
                "The 'http' type is still read for now.",
                conn_id,
                expected,
            )
        return
    raise InvalidConnection(
        f"Connection {conn_id!r} has type {conn.conn_type!r}; the pipeline needs a {expected!r} connection"
    )


def base_url(conn: ConnectionLike, default: str) -> str:
    """``scheme://host[:port]``; HTTPS unless the host or the schema field names another."""
    host = (conn.host or "").rstrip("/")
    if not host:
        return default
    if "://" not in host:
        host = f"{conn.schema or 'https'}://{host}"
    return f"{host}:{conn.port}" if conn.port else host


def is_intuit_url(url: str) -> bool:
    """HTTPS on intuit.com or one of its subdomains (a look-alike such as intuit.com.evil is not)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and (host == "intuit.com" or host.endswith(".intuit.com"))


def _check_intuit_urls(conn_id: str, environment: str, urls: dict[str, str]) -> None:
    """A production or Intuit-sandbox connection talks to Intuit only: whoever may edit
    the connection must not be able to send the client secret and the refresh token to
    another host. Stand-ins (this project's sandbox) use environment ``local``."""
    if environment == "local":
        if not urls["host"]:
            raise InvalidConnection(f"Connection {conn_id!r} is invalid: environment 'local' needs the API base in host")
        return
    for name, url in urls.items():
        if not is_intuit_url(url):
            raise InvalidConnection(
                f"Connection {conn_id!r} is invalid: {name} {url!r} is not an https URL on intuit.com, and a "
                f"{environment!r} connection talks to Intuit only (a stand-in of Intuit uses environment 'local')"
            )


def quickbooks_config(conn: ConnectionLike) -> QuickBooksConfig:
    """The QuickBooks app behind a ``quickbooks`` connection, validated."""
    conn_id = conn.conn_id or "quickbooks"
    check_conn_type(conn, QUICKBOOKS_CONN_TYPE)
    try:
        extra = QuickBooksExtra.model_validate(_extra(conn, conn_id))
    except ValidationError as error:
        raise InvalidConnection(_describe(conn_id, error)) from None
    if not conn.login or not conn.password:
        missing = "Client ID (login)" if not conn.login else "Client secret (password)"
        raise InvalidConnection(f"Connection {conn_id!r} is invalid: {missing} is empty")
    environment = extra.environment or "production"
    urls = {
        "host": base_url(conn, INTUIT_API_BASE.get(environment, "")),
        "authorize_url": extra.authorize_url or INTUIT_AUTHORIZE_URL,
        "token_url": extra.token_url or INTUIT_TOKEN_URL,
        "revoke_url": extra.revoke_url or INTUIT_REVOKE_URL,
    }
    _check_intuit_urls(conn_id, environment, urls)
    return QuickBooksConfig(
        api_base=urls["host"],
        client_id=conn.login,
        client_secret=conn.password,
        authorize_url=urls["authorize_url"],
        token_url=urls["token_url"],
        revoke_url=urls["revoke_url"],
        redirect_uri=extra.redirect_uri or None,
        timeout=extra.timeout or 60.0,
        limits=extra.limits(),
        environment=environment,
        webhook_verifier_token=extra.webhook_verifier_token or None,
    )


def invoiced_extra(conn: ConnectionLike) -> InvoicedExtra:
    conn_id = conn.conn_id or "invoiced"
    try:
        return InvoicedExtra.model_validate(_extra(conn, conn_id))
    except ValidationError as error:
        raise InvalidConnection(_describe(conn_id, error)) from None


def invoiced_config(conn: ConnectionLike) -> InvoicedConfig:
    """The Invoiced account behind an ``invoiced`` connection, validated."""
    conn_id = conn.conn_id or "invoiced"
    check_conn_type(conn, INVOICED_CONN_TYPE)
    extra = invoiced_extra(conn)
    api_key = conn.password or conn.login  # the key sat in login in some early connections
    if not api_key:
        raise InvalidConnection(f"Connection {conn_id!r} is invalid: API key (password) is empty")
    return InvoicedConfig(
        api_base=base_url(conn, INVOICED_API_BASE),
        api_key=api_key,
        timeout=extra.timeout or 60.0,
        concurrency=extra.concurrency or 5,
        webhook_secret=extra.webhook_secret or None,
    )


def lookup_connection(conn_id: str) -> ConnectionLike:
    """The one way the pipeline looks up an Airflow connection, or ``MissingConnection``
    naming it. ``BaseHook.get_connection`` is the public Task SDK call; the SDK picks the
    right source for the process it runs in (the API server inside a task, the metadata DB
    in the API server, environment variables and secrets backends elsewhere)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn: ConnectionLike = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise MissingConnection(f"Airflow connection {conn_id!r} is not defined") from None
    return conn


def state_store_url(conn_id: str = "accounting_sync_db") -> str:
    """The state store's SQLAlchemy URL; a SQLite file in the Airflow home by default."""
    try:
        conn = lookup_connection(conn_id)
    except MissingConnection:
        home = os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow"))
        return f"sqlite:///{os.path.join(home, 'accounting_sync.db')}"
    extra = _extra(conn, conn_id)
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
