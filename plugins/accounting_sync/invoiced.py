"""Invoiced REST API client.

Lists are streamed page by page by following the ``Link: rel="next"`` header (Invoiced
asks for pages in order). Writes carry an ``Idempotency-Key`` so a retry after a lost
answer returns the first answer instead of creating a second record. 429, 5xx, timeouts
and dropped connections are retried with backoff (tenacity).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from accounting_sync.connections import InvoicedConfig

log = logging.getLogger(__name__)

PER_PAGE = 100


def server_time(response: requests.Response) -> int | None:
    """The server's clock, from the Date header (UNIX seconds)."""
    try:
        return int(parsedate_to_datetime(response.headers["Date"]).timestamp())
    except (KeyError, TypeError, ValueError):
        return None


class InvoicedError(Exception):
    """An error answered by Invoiced: ``{type, message, param}``."""

    def __init__(self, status: int, error_type: str, message: str, param: str | None = None) -> None:
        self.status, self.type, self.message, self.param = status, error_type, message, param
        super().__init__(f"Invoiced {status} {error_type}: {message}" + (f" (param {param})" if param else ""))


class _Retryable(Exception):
    pass


class InvoicedClient:
    def __init__(self, config: InvoicedConfig, max_attempts: int = 8, session: requests.Session | None = None):
        self.config = config
        self.max_attempts = max_attempts
        self.session = session or requests.Session()
        self.session.auth = (config.api_key, "")
        self.session.headers["Accept"] = "application/json"
        self.calls: Counter[str] = Counter()
        self.list_started_at: int | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> requests.Response:
        url = path if path.startswith("http") else f"{self.config.api_base}{path}"
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        retrying = Retrying(
            retry=retry_if_exception_type(_Retryable),
            stop=stop_after_attempt(self.max_attempts),
            wait=wait_exponential_jitter(initial=0.5, max=20),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "Invoiced %s %s failed (%s); retrying", method, path, state.outcome.exception() if state.outcome else ""
            ),
        )
        try:
            return retrying(self._send_once, method, url, params, json, headers)
        except _Retryable as error:
            raise InvoicedError(503, "api_error", f"Invoiced kept failing: {error}") from None

    def _send_once(
        self, method: str, url: str, params: dict[str, Any] | None, json: Any, headers: dict[str, str]
    ) -> requests.Response:
        self.calls[method] += 1
        try:
            response = self.session.request(
                method, url, params=params, json=json, headers=headers, timeout=self.config.timeout
            )
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
            raise _Retryable(type(error).__name__) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retryable(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            raise InvoicedError(
                response.status_code,
                str(body.get("type", "invalid_request")),
                str(body.get("message", response.reason)),
                body.get("param"),
            )
        return response

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).json()

    def post(self, path: str, body: dict[str, Any], idempotency_key: str | None = None) -> Any:
        response = self.request("POST", path, json=body, idempotency_key=idempotency_key)
        return response.json() if response.content else None

    def patch(self, path: str, body: dict[str, Any], idempotency_key: str | None = None) -> Any:
        return self.request("PATCH", path, json=body, idempotency_key=idempotency_key).json()

    def iter_list(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every record of a list endpoint, streamed one page at a time. The server's time
        of the first page is kept in ``list_started_at`` (for incremental cursors)."""
        url: str | None = path
        query: dict[str, Any] | None = {"per_page": PER_PAGE, **(params or {})}
        self.list_started_at = None
        while url:
            response = self.request("GET", url, params=query)
            if self.list_started_at is None:
                self.list_started_at = server_time(response)
            yield from response.json()
            url = response.links.get("next", {}).get("url")
            query = None  # the next link carries the query already
