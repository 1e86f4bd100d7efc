"""The API's front door: authentication, injected faults, idempotency keys, headers.

Runs as pure ASGI in the order of the service's ApiSubscriber (authenticate, then
rate-limit, then replay an idempotent response). Like the service, a keyed POST/PATCH
reads the cache before the handler and writes it after, with no lock in between: a
same-key retry that arrives while the first attempt still runs executes again. Every
answer is cached, 5xx included. Idempotent responses are buffered and cached *before*
they are sent, so a commit-then-drop fault still leaves the answer for the retry.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from email.utils import formatdate

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.common.faults import FaultInjector
from sandbox.invoiced.clock import SandboxClock
from sandbox.invoiced.config import InvoicedConfig
from sandbox.invoiced.errors import ApiError, InvoicedJSONResponse, error_response, internal_error

CONTROL_PREFIX = "/_sandbox"
WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE"})
IDEMPOTENT_METHODS = frozenset({"POST", "PATCH"})
IDEMPOTENCY_KEY_LENGTH = (6, 64)
READ_FAULTS = ("429", "500", "503", "slow")
WRITE_FAULTS = (*READ_FAULTS, "drop", "commit_500")
MISSING_KEY_MESSAGE = (
    "Missing API key! HINT: You can pass in your API key as the username parameter using HTTP Basic Auth."
)

CacheKey = tuple[str, str]


def concurrency_message(limit: int) -> str:
    return f"Too many concurrent requests! You can only make {limit} concurrent requests at a time."


def concurrency_response(limit: int) -> InvoicedJSONResponse:
    """The 429 of the concurrency limit, with the headers every API answer carries."""
    response = error_response(ApiError(429, concurrency_message(limit)))
    response.headers["Cache-Control"] = "no-cache, no-store"
    response.headers["WWW-Authenticate"] = 'Basic realm="Invoiced"'
    return response


def scrub_key(key: str) -> str:
    """Keep the first and last three characters, as the service's error message does."""
    if len(key) <= 6:
        return key
    return key[:3] + "*" * (len(key) - 6) + key[-3:]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _basic_credentials(scope: Scope) -> tuple[str, str]:
    authorization = _header(scope, b"authorization") or ""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    username, _, password = decoded.partition(":")
    return username, password


class IdempotencyCache:
    """Responses by (API key, Idempotency-Key), kept ``ttl`` seconds on the sandbox clock.

    ``exclusive`` serializes requests sharing a key; the gateway uses it only when the
    ``idempotency_lock`` switch asks for it, since the service holds no such lock.
    """

    def __init__(self, ttl_seconds: Callable[[], int], now: Callable[[], int]) -> None:
        self._ttl = ttl_seconds
        self._now = now
        self._lock = threading.Lock()
        self._entries: dict[CacheKey, tuple[int, bytes, int]] = {}
        self._in_progress: dict[CacheKey, asyncio.Lock] = {}

    def get(self, key: CacheKey) -> tuple[int, bytes] | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[2] <= self._now():
            return None
        return entry[0], entry[1]

    def put(self, key: CacheKey, status: int, body: bytes) -> None:
        with self._lock:
            self._entries[key] = (status, body, self._now() + self._ttl())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    @asynccontextmanager
    async def exclusive(self, key: CacheKey) -> AsyncIterator[None]:
        """Serialize requests sharing a key, so a replay never races the first write."""
        lock = self._in_progress.setdefault(key, asyncio.Lock())
        async with lock:
            yield
        if not lock.locked() and self._in_progress.get(key) is lock:
            del self._in_progress[key]


async def _read_ahead(receive: Receive) -> Receive:
    """The whole request, read before a slow handler starts. The service has the body
    before it works and finishes what it started when the client has gone (PHP carries on
    after a disconnect), so a client that times out has not stopped the write."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else {"type": "http.disconnect"}

    return replay


class Gateway:
    """Pure ASGI middleware in front of every non-control route."""

    def __init__(
        self,
        app: ASGIApp,
        config: InvoicedConfig,
        faults: FaultInjector,
        idempotency: IdempotencyCache,
        clock: SandboxClock,
    ) -> None:
        self.app = app
        self.config = config
        self.faults = faults
        self.idempotency = idempotency
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        send = self._with_api_headers(scope, send)
        try:
            api_key = self._authenticate(scope)
            fault = self._draw_fault(scope)
            key = self._idempotency_key(scope)
        except ApiError as error:
            await error_response(error)(scope, receive, send)
            return
        if key is None:
            await self._unkeyed(scope, receive, send, fault)
        else:
            await self._idempotent(scope, receive, send, (api_key, key), fault)

    def _with_api_headers(self, scope: Scope, send: Send) -> Send:
        app_version = _header(scope, b"x-app-version")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"cache-control", b"no-cache, no-store"))
                # The server's own time, on the same clock as every updated_at it serves.
                headers.append((b"date", formatdate(self.clock.now(), usegmt=True).encode()))
                if app_version is None:
                    headers.append((b"www-authenticate", b'Basic realm="Invoiced"'))
                message = {**message, "headers": headers}
            await send(message)

        return send_with_headers

    def _authenticate(self, scope: Scope) -> str:
        """API key as the Basic username with a blank password; a password means a company username."""
        username, password = _basic_credentials(scope)
        if not username:
            raise ApiError(401, MISSING_KEY_MESSAGE)
        if password:
            raise ApiError(401, f"We did not find an account matching the username: {username}")
        if not hmac.compare_digest(username.encode(), self.config.api_key.encode()):
            raise ApiError(401, f"We could not authenticate you with the API Key: {scrub_key(username)}")
        return username

    def _draw_fault(self, scope: Scope) -> str | None:
        """Draw this request's fault; 429 and 503 are answered before the key is looked at.

        A 429 is the rate limiter and a 503 the load balancer in front of the service, so
        neither reaches the idempotency cache. ``500`` (a handler failure), ``commit_500``
        (a failure after the write), ``slow`` and ``drop`` are played where they happen.
        """
        allowed = WRITE_FAULTS if scope["method"] in WRITE_METHODS else READ_FAULTS
        fault = self.faults.draw(allowed)
        if fault == "429":
            raise ApiError(429, concurrency_message(self.config.concurrent))
        if fault == "503":
            raise ApiError(503, "Service Unavailable")
        if fault == "drop":
            scope.setdefault("state", {})["drop_connection"] = True
        return fault

    def _idempotency_key(self, scope: Scope) -> str | None:
        key = _header(scope, b"idempotency-key")
        if not key:
            return None
        if scope["method"] not in IDEMPOTENT_METHODS:
            raise ApiError(
                400,
                f"Unsupported method: {scope['method']}. "
                "Idempotency keys can only be used with POST and PATCH requests.",
            )
        shortest, longest = IDEMPOTENCY_KEY_LENGTH
        if len(key) < shortest:
            raise ApiError(400, f"Idempotency key is too short. Must be at least {shortest} characters long.")
        if len(key) > longest:
            raise ApiError(400, f"Idempotency key is too long. Must be no longer than {longest} characters.")
        return key

    async def _handle(self, scope: Scope, receive: Receive, fault: str | None) -> list[Message]:
        """Run the handler as the fault says, buffering its answer.

        ``500`` answers an internal error without running the handler (nothing is
        written); ``commit_500`` runs it, keeps whatever it wrote, then answers 500.
        """
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        if fault == "slow":
            receive = await _read_ahead(receive)
            await asyncio.sleep(self.faults.config.slow_seconds)
        if fault == "500":
            await error_response(internal_error())(scope, receive, capture)
            return messages
        await self.app(scope, receive, capture)
        if fault == "commit_500":
            messages.clear()
            await error_response(internal_error())(scope, receive, capture)
        return messages

    async def _unkeyed(self, scope: Scope, receive: Receive, send: Send, fault: str | None) -> None:
        if fault in ("500", "commit_500"):
            for message in await self._handle(scope, receive, fault):
                await send(message)
            return
        if fault == "slow":
            receive = await _read_ahead(receive)
            await asyncio.sleep(self.faults.config.slow_seconds)
        await self.app(scope, receive, send)

    async def _idempotent(
        self, scope: Scope, receive: Receive, send: Send, key: CacheKey, fault: str | None
    ) -> None:
        """Cache read before the handler, cache write after it; a lock only if switched on."""
        guard: AbstractAsyncContextManager[None] = (
            self.idempotency.exclusive(key) if self.config.idempotency_lock else nullcontext()
        )
        async with guard:
            cached = self.idempotency.get(key)
            if cached is not None:
                status, body = cached
                await Response(body, status_code=status, media_type="application/json")(scope, receive, send)
                return
            messages = await self._handle(scope, receive, fault)
            status = next(m["status"] for m in messages if m["type"] == "http.response.start")
            if status < 500 or self.config.idempotency_cache_server_errors:
                body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
                self.idempotency.put(key, status, body)
        for message in messages:
            await send(message)
