"""ASGI middleware: request statistics, an in-flight limit and commit-then-drop.

Commit-then-drop is the failure that makes naive clients duplicate records: the server
stores the write, then the connection dies before the client reads the answer. A handler
asks for it with ``request.state.drop_connection = True``; the middleware then starts the
response and aborts it, so the client sees an incomplete read instead of a reply.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class DroppedConnection(Exception):
    """Raised after the response started, so the server closes the socket mid-response."""


class RequestStats:
    """Counts requests by method, route template and status code; with ``kind_of`` also
    per kind (e.g. metered reads apart from writes), whatever their status."""

    def __init__(self, kind_of: Callable[[str, str], str | None] | None = None, kinds: tuple[str, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, int]] = Counter()
        self._kind_of = kind_of
        self._kinds = kinds

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._counts[(method, path, status)] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            counts = sorted(self._counts.items())
        rows = [{"method": method, "path": path, "status": status, "count": count}
                for (method, path, status), count in counts]
        snapshot: dict[str, Any] = {"total": sum(count for _, count in counts), "requests": rows}
        if self._kind_of is not None:
            kinds: Counter[str] = Counter(dict.fromkeys(self._kinds, 0))
            for (method, path, _), count in counts:
                kind = self._kind_of(method, path)
                if kind is not None:
                    kinds[kind] += count
            snapshot.update(kinds)
        return snapshot

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


def default_concurrency_key(scope: Scope) -> str | None:
    """Limit every API request together; control and OAuth endpoints are never limited."""
    path: str = scope.get("path", "")
    if path.startswith("/_sandbox") or path.startswith("/oauth2") or path.startswith("/connect"):
        return None
    return "api"


class SandboxMiddleware:
    """Pure ASGI middleware shared by both sandboxes."""

    def __init__(
        self,
        app: ASGIApp,
        stats: RequestStats,
        concurrency_limit: Callable[[], int | None],
        on_concurrency_exceeded: Callable[[], Response],
        concurrency_key: Callable[[Scope], str | None] = default_concurrency_key,
    ) -> None:
        self.app = app
        self.stats = stats
        self.concurrency_limit = concurrency_limit
        self.on_concurrency_exceeded = on_concurrency_exceeded
        self.concurrency_key = concurrency_key
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = self.concurrency_key(scope)
        if key is not None and not self._enter(key):
            response = self.on_concurrency_exceeded()
            self.stats.record(scope["method"], scope["path"], response.status_code)
            await response(scope, receive, send)
            return
        started: dict[str, int] = {"status": 500}
        try:
            await self._forward(scope, receive, send, started)
        finally:
            if key is not None:
                self._leave(key)
            route_path = getattr(scope.get("route"), "path", None)
            self.stats.record(scope["method"], str(route_path or scope["path"]), started["status"])

    async def _forward(self, scope: Scope, receive: Receive, send: Send, started: dict[str, int]) -> None:
        async def send_or_drop(message: Message) -> None:
            if message["type"] == "http.response.start":
                started["status"] = message["status"]
                await send(message)
                if scope.get("state", {}).get("drop_connection"):
                    raise DroppedConnection("sandbox fault: connection dropped after commit")
                return
            await send(message)

        await self.app(scope, receive, send_or_drop)

    def _enter(self, key: str) -> bool:
        limit = self.concurrency_limit()
        with self._lock:
            if limit is not None and self._in_flight[key] >= limit:
                return False
            self._in_flight[key] += 1
            return True

    def _leave(self, key: str) -> None:
        with self._lock:
            self._in_flight[key] -= 1
