"""Invoiced REST API client.

Lists are streamed page by page by following the ``Link: rel="next"`` header (Invoiced
asks for pages in order). Reads are retried with backoff (tenacity) on 429, 5xx, timeouts
and dropped connections.

Writes carry an ``Idempotency-Key``, but the key alone cannot make them exactly-once:
Invoiced caches every answer of a key for a day, 5xx included, so a same-key retry of a
500 only replays the 500; and it holds no lock per key, so a same-key retry sent while the
first attempt still runs executes again. Only a 429 (decided before the key is looked at)
or a connection that never opened is resent with the same key. Any other failure leaves
the write ambiguous: the caller's read-back says whether it happened. A 5xx was the whole
answer, so when the read-back finds nothing the write is resent under a fresh key; after
a timeout or a dropped connection the first attempt may still be running, so nothing is
resent and the write is reported unconfirmed, for the next run to read back again.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from accounting_sync.config.connections import InvoicedConfig

log = logging.getLogger(__name__)

PER_PAGE = 100


def server_time(response: requests.Response) -> datetime | None:
    """The server's clock, from the Date header."""
    try:
        return parsedate_to_datetime(response.headers["Date"])
    except (KeyError, TypeError, ValueError):
        return None


class InvoicedError(Exception):
    """An error answered by Invoiced: ``{type, message, param}``."""

    def __init__(self, status: int, error_type: str, message: str, param: str | None = None) -> None:
        self.status, self.type, self.message, self.param = status, error_type, message, param
        super().__init__(f"Invoiced {status} {error_type}: {message}" + (f" (param {param})" if param else ""))


class UnconfirmedWrite(InvoicedError):
    """A write whose answer was lost and which reading back did not find (yet)."""

    def __init__(self, method: str, path: str, cause: str) -> None:
        super().__init__(
            0, "unconfirmed", f"Invoiced did not answer {method} {path} ({cause}) and the record was not found "
            "when read back; the next run reads back again before writing"
        )


class _Retryable(Exception):
    pass


class _Ambiguous(Exception):
    """A keyed write that may have been made; ``answered`` when the server finished it (5xx)."""

    def __init__(self, cause: str, answered: bool) -> None:
        super().__init__(cause)
        self.cause, self.answered = cause, answered


ReadBack = Callable[[], dict[str, Any] | None]


class InvoicedClient:
    def __init__(self, config: InvoicedConfig, max_attempts: int = 8, session: requests.Session | None = None):
        self.config = config
        self.max_attempts = max_attempts
        self.session = session or requests.Session()
        self.session.auth = (config.api_key, "")
        self.session.headers["Accept"] = "application/json"
        self.calls: Counter[str] = Counter()

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
        keyed = "Idempotency-Key" in headers
        try:
            response = self.session.request(
                method, url, params=params, json=json, headers=headers, timeout=self.config.timeout
            )
        except requests.ConnectTimeout:
            raise _Retryable("ConnectTimeout") from None  # never reached Invoiced
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
            if keyed:
                raise _Ambiguous(type(error).__name__, answered=False) from None
            raise _Retryable(type(error).__name__) from None
        if response.status_code >= 500 and keyed:
            raise _Ambiguous(f"HTTP {response.status_code}", answered=True)
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

    def post(self, path: str, body: dict[str, Any], idempotency_key: str, read_back: ReadBack) -> Any:
        """Create once: ``read_back`` finds the record if an ambiguous attempt made it."""
        return self._write("POST", path, body, idempotency_key, read_back)

    def patch(self, path: str, body: dict[str, Any], idempotency_key: str) -> Any:
        """Setting the same fields twice leaves the same record, so an ambiguous PATCH is
        simply sent again under a fresh key."""
        return self._write("PATCH", path, body, idempotency_key, None)

    def _write(self, method: str, path: str, body: dict[str, Any], key: str, read_back: ReadBack | None) -> Any:
        cause = ""
        for attempt in range(self.max_attempts):
            attempt_key = key if attempt == 0 else f"{key[:58]}~{attempt}"  # a fresh key: the old one replays
            try:
                response = self.request(method, path, json=body, idempotency_key=attempt_key)
                return response.json() if response.content else None
            except _Ambiguous as ambiguous:
                cause = ambiguous.cause
                found = read_back() if read_back is not None else None
                if found is not None:
                    log.warning("Invoiced %s %s: answer lost (%s), the record was written", method, path, cause)
                    return found
                if read_back is not None and not ambiguous.answered:
                    raise UnconfirmedWrite(method, path, cause) from None
                log.warning("Invoiced %s %s failed (%s); sending again under a fresh key", method, path, cause)
                time.sleep(min(20.0, 0.5 * 2**attempt))
        raise InvoicedError(503, "api_error", f"Invoiced kept failing: {cause}")

    def iter_list(self, path: str, params: dict[str, Any] | None = None) -> Listing:
        """Every record of a list endpoint, streamed one page at a time."""
        return Listing(self, path, params)

    def same_origin(self, url: str) -> str:
        """A next link is followed only to the configured API base: the key goes with it."""
        wanted, given = urlsplit(self.config.api_base), urlsplit(urljoin(self.config.api_base, url))
        if (given.scheme, given.hostname, given.port) != (wanted.scheme, wanted.hostname, wanted.port):
            raise InvoicedError(
                502, "api_error", f"Invoiced sent a next page on another origin ({given.scheme}://{given.netloc}); "
                "it was not followed, so the API key stays with the configured API base"
            )
        return given.geturl()


class Listing:
    """The records of one list endpoint, read a page at a time as they are iterated.
    ``server_time`` is the server's clock when the first page was answered (None until
    then): an incremental cursor takes it from the listing it read."""

    def __init__(self, client: InvoicedClient, path: str, params: dict[str, Any] | None) -> None:
        self.client, self.path, self.params = client, path, params
        self.server_time: datetime | None = None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        url: str | None = self.path
        query: dict[str, Any] | None = {"per_page": PER_PAGE, **(self.params or {})}
        while url:
            response = self.client.request("GET", url, params=query)
            if self.server_time is None:
                self.server_time = server_time(response)
            yield from response.json()
            url = response.links.get("next", {}).get("url")
            if url is not None:
                url = self.client.same_origin(url)
            query = None  # the next link carries the query already
