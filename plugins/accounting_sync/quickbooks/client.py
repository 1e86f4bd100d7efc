"""QuickBooks Online Accounting API client.

What it adds over plain requests, each for a failure seen in real integrations:
- every write carries a ``requestid`` chosen by the caller, so a retry after a lost
  answer is replayed by QBO instead of creating a second record;
- a client-side limiter keeps within QBO's per-company limits;
- transient failures (429, 5xx, timeouts, dropped connections, "one name at a time")
  are retried with backoff by tenacity; permanent faults surface as ``QboFault``
  (``faults``);
- a 401 refreshes the token once and repeats the call.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from accounting_sync.common.values import chunked
from accounting_sync.config.connections import QuickBooksConfig
from accounting_sync.quickbooks.faults import AmbiguousWriteError, QboFault, parse_fault
from accounting_sync.quickbooks.oauth import AccessToken, TokenManager
from accounting_sync.quickbooks.ratelimit import RequestLimiter

log = logging.getLogger(__name__)

MINOR_VERSION = "75"
BATCH_LIMIT = 30  # Intuit's Batch API reference
SMALL_BATCH = 10  # Intuit's newer learn page; used once QBO refuses 30 (fault 1040)
PAGE_SIZE = 1000
QUERY_IN_FLIGHT = 4  # query pages of one long listing asked at once (QBO allows 10 requests in flight)
ID_CHUNK = 200  # ids per "Id IN (...)" query
CDC_LIMIT = 1000  # objects in one CDC answer; Intuit cuts the rest without paging
CDC_LOOKBACK = timedelta(days=30)  # how far back CDC reaches
CDC_REACH = CDC_LOOKBACK - timedelta(days=1)
"""How old a moment CDC is asked for: a day short of Intuit's 30, for the clocks' skew."""


@dataclass
class Transient(Exception):
    """Internal: try again, possibly after ``wait`` seconds, possibly with a new requestid."""

    reason: str
    wait: float | None = None
    definite: bool = False


@dataclass(frozen=True)
class Changes:
    """One change-data-capture answer: the changed records of each type asked for, deleted
    ones as tombstones (``{"Id", "status": "Deleted", "MetaData"}``), and QBO's clock."""

    records: dict[str, list[dict[str, Any]]]
    time: datetime | None

    @property
    def total(self) -> int:
        return sum(len(rows) for rows in self.records.values())

    def complete(self, entity: str) -> bool:
        """Whether the answer surely holds every change of the type: one that reached the
        cap may have been cut, and the cap may be shared by all the types of the answer."""
        return len(self.records.get(entity, [])) < CDC_LIMIT and self.total < CDC_LIMIT

    def changed(self, entity: str) -> list[dict[str, Any]]:
        return [row for row in self.records.get(entity, []) if not is_tombstone(row)]

    def deleted(self, entity: str) -> set[str]:
        return {str(row["Id"]) for row in self.records.get(entity, []) if is_tombstone(row)}


def _pages_in_order(page: Callable[[int], list[dict[str, Any]]], predicted: int) -> Iterator[list[dict[str, Any]]]:
    """Pages 0, 1, ... until a short one: the first ``predicted`` of them several at a time
    (a window of ``QUERY_IN_FLIGHT``), the rest one by one."""
    number = 0
    if predicted > 1:
        with ThreadPoolExecutor(QUERY_IN_FLIGHT, thread_name_prefix="qbo-query") as pool:
            window = deque(pool.submit(page, n) for n in range(min(QUERY_IN_FLIGHT, predicted)))
            while window:
                rows = window.popleft().result()
                yield rows
                if len(rows) < PAGE_SIZE:
                    for pending in window:
                        pending.cancel()
                    return
                number += 1
                if number + len(window) < predicted:
                    window.append(pool.submit(page, number + len(window)))
    while True:
        rows = page(number)
        yield rows
        if len(rows) < PAGE_SIZE:
            return
        number += 1


def is_tombstone(record: dict[str, Any]) -> bool:
    return record.get("status") == "Deleted"


def answer_time(body: dict[str, Any]) -> datetime | None:
    """QBO's clock when it answered: the ``time`` every JSON answer carries."""
    try:
        return datetime.fromisoformat(str(body["time"]))
    except (KeyError, ValueError):
        return None


DELETED_SUFFIX = re.compile(r"\s*\(deleted(?:-\d+)?\)$", re.IGNORECASE)


def live_name(record: dict[str, Any], field: str = "DisplayName") -> str:
    """A name-list row's name without the ` (deleted)` QBO appends when it makes the row
    inactive (recorded answers show "Thrifty Meats (deleted)", also "(Deleted)")."""
    name = str(record.get(field) or "")
    return DELETED_SUFFIX.sub("", name) if record.get("Active") is False else name


def escape(value: str) -> str:
    """Quote a literal for the QBO query language."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


class QuickBooksClient:
    """One company's QBO API."""

    def __init__(
        self,
        config: QuickBooksConfig,
        tokens: TokenManager,
        limiter: RequestLimiter | None = None,
        max_attempts: int = 8,
        session: requests.Session | None = None,
    ) -> None:
        self.config = config
        self.tokens = tokens
        self.limiter = limiter or RequestLimiter(config.limits)
        self.max_attempts = max_attempts
        self.session = session or requests.Session()
        self.calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()  # the load sends from several threads
        self.batch_limit = BATCH_LIMIT

    # -- transport ------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        data: str | None = None,
        request_id: str | None = None,
        kind: str = "read",
        resend_lost: bool = True,
    ) -> dict[str, Any]:
        """Send with retries. A write keeps its ``requestid`` across retries, except after
        an answer that proves nothing was written (then QBO would replay that answer).
        With ``resend_lost=False`` a write whose answer was lost is not sent again: the
        caller reads QBO back first (``AmbiguousWriteError``)."""
        definite_failures = 0

        def attempt() -> dict[str, Any]:
            rid = request_id if not definite_failures else f"{request_id}-{definite_failures}"
            try:
                return self._send_once(method, path, params, json, data, rid, kind)
            except Transient as lost:
                if request_id and not lost.definite and not resend_lost:
                    raise AmbiguousWriteError(lost.reason) from None
                raise

        def before_retry(state: RetryCallState) -> None:
            nonlocal definite_failures
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, Transient):
                if error.definite and request_id:
                    definite_failures += 1
                log.warning("QBO %s %s: %s; retrying (attempt %s)", method, path, error.reason, state.attempt_number)

        retrying = Retrying(
            retry=retry_if_exception(lambda error: isinstance(error, Transient)),
            stop=stop_after_attempt(self.max_attempts),
            wait=_wait_for,
            before_sleep=before_retry,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except Transient as error:
            if request_id and not error.definite:
                raise AmbiguousWriteError(error.reason) from None
            raise QboFault(503, "transient", f"QuickBooks kept failing: {error.reason}") from None

    def _send_once(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        json: Any,
        data: str | None,
        request_id: str | None,
        kind: str,
    ) -> dict[str, Any]:
        token = self.tokens.access_token()
        query = {"minorversion": MINOR_VERSION, **(params or {})}
        if request_id:
            query["requestid"] = request_id
        response = self._http(method, path, query, json, data, token, kind)
        if response.status_code == 401:
            token = self.tokens.refresh_after_401(token)
            response = self._http(method, path, query, json, data, token, kind)
        if response.status_code == 429:
            raise Transient("throttled (429)", wait=_retry_after(response, self.config), definite=True)
        if response.status_code >= 500:
            raise Transient(f"server error {response.status_code}")
        if response.status_code >= 400:
            fault = parse_fault(response)
            if fault.transient:
                raise Transient(f"fault {fault.code}", definite=True)
            raise fault
        body: dict[str, Any] = response.json()
        if "Fault" in body and "BatchItemResponse" not in body:
            raise QboFault.from_error(response.status_code, (body["Fault"].get("Error") or [{}])[0])
        return body

    def _http(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        json: Any,
        data: str | None,
        token: AccessToken,
        kind: str,
    ) -> requests.Response:
        url = f"{self.config.api_base}/v3/company/{token.realm_id}/{path}"
        headers = {"Authorization": f"Bearer {token.value}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/text"
        with self._calls_lock:
            self.calls[kind] += 1
        with self.limiter.slot(batch=kind.startswith("batch")):
            try:
                return self.session.request(
                    method,
                    url,
                    params=params,
                    json=json,
                    data=data.encode() if data is not None else None,
                    headers=headers,
                    timeout=self.config.timeout,
                )
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
                raise Transient(f"{type(error).__name__}") from None

    # -- API ------------------------------------------------------------------------------

    def query(self, statement: str) -> dict[str, Any]:
        return dict(self.request("POST", "query", data=statement, kind="query").get("QueryResponse", {}))

    def query_rows(
        self,
        entity: str,
        where: str = "",
        order_by: str = "Id",
        began: Callable[[datetime | None], None] | None = None,
        expected: int = 0,
    ) -> Iterator[dict[str, Any]]:
        """Every row of ``SELECT * FROM entity WHERE ...``, a page of 1000 at a time, in
        order; ``began`` hears QBO's clock when it answered the first page. A caller that
        expects many rows (``expected``) gets the pages it predicts ``QUERY_IN_FLIGHT`` at
        a time: read by read, a long listing is mostly waiting on QBO's answer time. A
        prediction that was too high costs at most ``QUERY_IN_FLIGHT - 1`` empty pages."""
        clause = f" WHERE {where}" if where else ""

        def page(number: int) -> list[dict[str, Any]]:
            start = 1 + number * PAGE_SIZE
            statement = f"SELECT * FROM {entity}{clause} ORDERBY {order_by} STARTPOSITION {start} MAXRESULTS {PAGE_SIZE}"
            body = self.request("POST", "query", data=statement, kind="query")
            if began is not None and number == 0:
                began(answer_time(body))
            return list(body.get("QueryResponse", {}).get(entity, []))

        predicted = -(-expected // PAGE_SIZE)
        for rows in _pages_in_order(page, predicted):
            yield from rows

    def read(self, entity: str, entity_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"{entity.lower()}/{entity_id}", kind="read")[entity])

    def write(
        self, entity: str, payload: dict[str, Any], request_id: str, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Create or update one entity (``params`` e.g. ``{"operation": "void"}``)."""
        body = self.request("POST", entity.lower(), params=params, json=payload, request_id=request_id, kind="write")
        return dict(body.get(entity, body))

    def batch(self, items: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
        """Send up to ``batch_limit`` independent operations; one answer per ``bId``. A lost
        answer raises ``AmbiguousWriteError`` at once: re-sending is the caller's decision."""
        if not 0 < len(items) <= self.batch_limit:
            raise ValueError(f"a QBO batch holds 1..{self.batch_limit} items, not {len(items)}")
        body = self.request(
            "POST", "batch", json={"BatchItemRequest": items}, request_id=request_id, kind="batch", resend_lost=False
        )
        return list(body.get("BatchItemResponse", []))

    def cdc(self, entities: Iterable[str], changed_since: datetime) -> Changes:
        """Every record of these types changed since the moment (at most ``CDC_LOOKBACK``
        ago, else QBO refuses), deleted ones as tombstones: one metered read for all the
        types, where queries would take one per type and one per 200 ids to find deletions."""
        names = list(dict.fromkeys(entities))
        params = {"entities": ",".join(names), "changedSince": changed_since.isoformat(timespec="seconds")}
        body = self.request("GET", "cdc", params=params, kind="cdc")
        records: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for answer in body.get("CDCResponse") or []:
            for entry in answer.get("QueryResponse") or []:
                for name in names:
                    records[name].extend(entry.get(name) or [])
        return Changes(records, answer_time(body))

    def company_info(self) -> dict[str, Any]:
        realm = self.tokens.access_token().realm_id
        return dict(self.request("GET", f"companyinfo/{realm}")["CompanyInfo"])

    def preferences(self) -> dict[str, Any]:
        return dict(self.request("GET", "preferences")["Preferences"])


def rows_by_id(
    client: QuickBooksClient, entity: str, ids: Iterable[str], where: str = "", chunk: int = ID_CHUNK
) -> Iterator[dict[str, Any]]:
    """The current row of each id, ``chunk`` ids per query (``where`` narrows them
    further); a deleted record is simply absent."""
    for part in chunked(sorted(ids), chunk):
        clause = "Id IN (" + ", ".join(f"'{i}'" for i in part) + ")"
        yield from client.query_rows(entity, f"{where} AND {clause}" if where else clause)


def _retry_after(response: requests.Response, config: QuickBooksConfig) -> float:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return config.limits.throttle_wait_seconds


_backoff = wait_exponential_jitter(initial=0.5, max=30)


def _wait_for(state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, Transient) and error.wait is not None:
        return error.wait
    return float(_backoff(state))
