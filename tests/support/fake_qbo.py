"""QuickBooks Online faked at the transport, for unit tests without servers: a requests
session that answers from a script and keeps every request it was sent (path, requestid,
body, bearer token), and a token manager that counts its refreshes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from accounting_sync.config.connections import QuickBooksConfig, RateLimits
from accounting_sync.quickbooks.client import QuickBooksClient
from accounting_sync.quickbooks.oauth import AccessToken
from tests.support.fake_http import response

REALM = "9130"


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    params: dict[str, Any]
    body: Any
    token: str

    @property
    def requestid(self) -> str | None:
        return self.params.get("requestid")

    @property
    def items(self) -> list[dict[str, Any]]:
        """The operations of a batch request."""
        return list((self.body or {}).get("BatchItemRequest") or [])


Answer = requests.Response | type[Exception] | Callable[[Sent], requests.Response]


def fault(status: int, code: str, message: str = "refused") -> requests.Response:
    return response(status, {"Fault": {"Error": [{"code": code, "Message": message}], "type": "ValidationFault"}})


def item_fault(code: str, message: str = "refused") -> dict[str, Any]:
    """One batch item's answer when QBO refused it."""
    return {"Fault": {"Error": [{"code": code, "Message": message}]}}


def batch_answer(
    entity: str, answers: Callable[[int, dict[str, Any]], dict[str, Any]] | None = None
) -> Callable[[Sent], requests.Response]:
    """Answers a batch with one result per item: ``answers(index, item)``, by default the
    entity written with an Id of its own."""

    def answer(sent: Sent) -> requests.Response:
        results = []
        for index, item in enumerate(sent.items):
            result = answers(index, item) if answers else written(entity, item, index)
            results.append({"bId": item["bId"], **result})
        return response(200, {"BatchItemResponse": results})

    return answer


def written(entity: str, item: dict[str, Any], index: int) -> dict[str, Any]:
    payload = item[entity]
    return {entity: {**payload, "Id": payload.get("Id", str(100 + index)), "SyncToken": "0"}}


def rows(entity: str, found: list[dict[str, Any]]) -> requests.Response:
    """The answer to a query."""
    return response(200, {"QueryResponse": {entity: found} if found else {}})


def as_sent(method: str, url: str, kwargs: dict[str, Any]) -> Sent:
    """What a request sent: path, parameters, body (JSON or query text), bearer token."""
    token = str((kwargs.get("headers") or {}).get("Authorization", "")).removeprefix("Bearer ")
    body = kwargs.get("json")
    if body is None and kwargs.get("data") is not None:
        body = kwargs["data"].decode()
    return Sent(method, url.split(f"/v3/company/{REALM}/", 1)[1], dict(kwargs.get("params") or {}), body, token)


class FakeQbo(requests.Session):
    """Answers requests from a script, in order, and keeps what was sent."""

    def __init__(self, *answers: Answer) -> None:
        super().__init__()
        self.answers = list(answers)
        self.sent: list[Sent] = []

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        sent = as_sent(method, url, kwargs)
        self.sent.append(sent)
        if not self.answers:
            raise AssertionError(f"unexpected request {method} {sent.path}")
        answer = self.answers.pop(0)
        if isinstance(answer, type) and issubclass(answer, Exception):
            raise answer("scripted")
        if isinstance(answer, requests.Response):
            return answer
        return answer(sent)  # type: ignore[operator]

    def batches(self) -> list[Sent]:
        return [sent for sent in self.sent if sent.path == "batch"]


class FakeTokens:
    """What the client asks of its token manager: a token, and a refresh after a 401."""

    def __init__(self) -> None:
        self.refreshes = 0
        self.current = self._token()

    def _token(self) -> AccessToken:
        return AccessToken(f"token-{self.refreshes + 1}", REALM, datetime.now(timezone.utc) + timedelta(hours=1))

    def access_token(self) -> AccessToken:
        return self.current

    def refresh_after_401(self, rejected: AccessToken) -> AccessToken:
        self.refreshes += 1
        self.current = self._token()
        return self.current


class ConcurrentQbo(requests.Session):
    """Answers every request with ``answer(sent)`` from whichever thread sends it, keeps
    what was sent, and counts the requests in flight at once (``peak``)."""

    def __init__(self, answer: Callable[[Sent], requests.Response]) -> None:
        super().__init__()
        self.answer = answer
        self.sent: list[Sent] = []
        self.events: list[tuple[str, Sent]] = []  # ("sent" | "answered", request), in order
        self.in_flight = self.peak = 0
        self._lock = threading.Lock()

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        sent = as_sent(method, url, kwargs)
        with self._lock:
            self.sent.append(sent)
            self.events.append(("sent", sent))
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            return self.answer(sent)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.events.append(("answered", sent))

    def batches(self) -> list[Sent]:
        with self._lock:
            return [sent for sent in self.sent if sent.path == "batch"]


def qbo_client(
    session: requests.Session, tokens: FakeTokens | None = None, max_attempts: int = 4, **limits: Any
) -> QuickBooksClient:
    """A client of the fake; ``limits`` override ``RateLimits`` (e.g. ``batches_in_flight``).
    Its window is a second, so the limiter's spacing costs the tests next to nothing."""
    config = QuickBooksConfig(
        api_base="https://qbo.test", client_id="app", client_secret="secret",
        limits=RateLimits(**{"throttle_wait_seconds": 0, "window_seconds": 1.0, **limits}),
    )
    return QuickBooksClient(config, tokens or FakeTokens(), max_attempts=max_attempts, session=session)  # type: ignore[arg-type]
