"""``InvoicedHook``: the ``invoiced`` connection type, on the HTTP provider's ``HttpHook``.

``HttpHook`` brings the session set-up users of the HTTP provider know (TLS verification,
proxies, certificates, TCP keep-alive, extra headers from the extra); this hook adds the
Invoiced specifics: the API key as the basic-auth user, the production URL by default,
and the pipeline's own extras (``timeout``, ``concurrency``) kept out of the headers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.http.hooks.http import HttpHook
from requests import Session
from requests.auth import HTTPBasicAuth

from accounting_sync.config.connections import (
    INVOICED_API_BASE,
    INVOICED_CONN_TYPE,
    ConnectionLike,
    InvoicedConfig,
    InvoicedExtra,
    invoiced_config,
    lookup_connection,
)

if TYPE_CHECKING:
    from accounting_sync.invoiced.client import InvoicedClient

PIPELINE_EXTRAS = frozenset(InvoicedExtra.model_fields)
"""Extras read by the pipeline, not sent as headers (``HttpHook`` sends unknown keys)."""


class InvoicedHook(HttpHook):
    """One Invoiced account's REST API.

    :param invoiced_conn_id: the ``invoiced`` connection (API URL and API key).
    :param method: HTTP method of ``run()``; GET, as most calls read.
    """

    conn_name_attr = "invoiced_conn_id"
    default_conn_name = "invoiced_default"
    conn_type = INVOICED_CONN_TYPE
    hook_name = "Invoiced"
    default_host = INVOICED_API_BASE

    def __init__(self, invoiced_conn_id: str = default_conn_name, method: str = "GET", **kwargs: Any) -> None:
        super().__init__(method=method, http_conn_id=invoiced_conn_id, **kwargs)
        self.invoiced_conn_id = invoiced_conn_id

    @classmethod
    def get_connection(cls, conn_id: str) -> Any:
        """Through the pipeline's one lookup, so a missing connection reads the same everywhere."""
        return lookup_connection(conn_id)

    @property
    def connection(self) -> ConnectionLike:
        return lookup_connection(self.invoiced_conn_id)

    def config(self, connection: ConnectionLike | None = None) -> InvoicedConfig:
        """The account of the connection, validated (``InvalidConnection`` names the field)."""
        return invoiced_config(connection or self.connection)

    def _set_base_url(self, connection: Any) -> None:
        """The base URL as the pipeline reads it: HTTPS and the production URL by default."""
        self.base_url = self.config(connection).api_base
        self._srv_lookup_enabled = False
        self._base_url_initialized = True

    def _extract_auth(self, connection: Any) -> Any:
        """Invoiced takes the API key as the basic-auth user, with an empty password."""
        return HTTPBasicAuth(self.config(connection).api_key, "")

    def _configure_session_from_extra(self, session: Session, connection: Any, extra_options: dict[str, Any]) -> Session:
        """``HttpHook``'s handling of the extra, without the pipeline's own keys."""
        session = super()._configure_session_from_extra(session, connection, extra_options)
        for key in PIPELINE_EXTRAS:
            session.headers.pop(key, None)
        return session

    def get_client(self) -> InvoicedClient:
        """The pipeline's client (paging, idempotent writes, retries) on this hook's session."""
        from accounting_sync.invoiced.client import InvoicedClient

        return InvoicedClient(self.config(), session=self.get_conn())

    def test_connection(self) -> tuple[bool, str]:
        """Read one customer: proves the URL and the API key, and writes nothing."""
        try:
            config = self.config()
            response = self.run("/customers", data={"per_page": 1}, extra_options={"timeout": min(config.timeout, 30)})
            customers = response.json()
        except Exception as error:  # noqa: BLE001 - the answer is the message, whatever failed
            return False, f"{type(error).__name__}: {error}"
        total = response.headers.get("X-Total-Count")
        count = f"{total} customers" if total is not None else f"{len(customers)} customer(s) read"
        return True, f"Connected to Invoiced at {config.api_base} ({count})"
