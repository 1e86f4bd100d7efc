"""Webhook delivery shared by both sandboxes: a registered URL, a queue, one thread.

Each sandbox says how a delivery is encoded and signed, and how the service retries;
``POST /_sandbox/webhooks {"url", "secret"}`` registers the receiver. Deliveries run on a
thread of their own, so the API request that made a change never waits for them.

- ``hold_back``: the next delivery waits until the one before it is acknowledged (Intuit:
  "later events may be held back until the first is acknowledged"); otherwise a failed
  delivery is retried on its own schedule while later ones go out (Invoiced).
- ``batch``: events that arrive while a delivery is waiting to go out join it (Intuit's
  delivery queue batches events, in order); otherwise one event per delivery (Invoiced).
- A delivery fails on a connection error, on an answer slower than ``timeout`` or on any
  status but 2xx; it is retried after each of ``retry_seconds`` in turn, then dropped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

Encoder = Callable[[list[dict[str, Any]], str], bytes]
"""(events, format) -> body."""
Signer = Callable[[str, bytes], dict[str, str]]
"""(secret, body) -> the headers of the delivery, signature included."""


@dataclass
class Registration:
    url: str
    secret: str
    format: str
    retry_seconds: list[float]


@dataclass
class Delivery:
    events: list[dict[str, Any]]
    due: float
    attempts: int = 0
    sending: bool = False


@dataclass
class Tally:
    delivered_events: int = 0
    deliveries: int = 0
    failed_attempts: int = 0
    dropped_events: int = 0


class WebhookSender:
    def __init__(self, encode: Encoder, sign: Signer, *, timeout: float, hold_back: bool, batch: bool,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.encode, self.sign = encode, sign
        self.timeout, self.hold_back, self.batch, self.clock = timeout, hold_back, batch, clock
        self._lock = threading.Condition()
        self._registration: Registration | None = None
        self._queue: list[Delivery] = []
        self._tally = Tally()
        self._thread: threading.Thread | None = None
        self._generation = 0

    def register(self, registration: Registration) -> None:
        """Deliver to this receiver from now on (replacing any earlier one and its queue)."""
        with self._lock:
            self._registration, self._queue, self._tally = registration, [], Tally()
            self._generation += 1
            self._thread = threading.Thread(target=self._run, args=(self._generation,), name="sandbox-webhooks",
                                            daemon=True)
            self._thread.start()

    def unregister(self) -> None:
        with self._lock:
            self._registration, self._queue = None, []
            self._generation += 1
            self._lock.notify_all()

    def publish(self, event: dict[str, Any]) -> None:
        """Queue one event; nothing happens without a registered receiver."""
        with self._lock:
            if self._registration is None:
                return
            waiting = self._queue[-1] if self._queue else None
            if self.batch and waiting is not None and waiting.attempts == 0 and not waiting.sending:
                waiting.events.append(event)
            else:
                self._queue.append(Delivery([event], due=self.clock()))
            self._lock.notify_all()

    def status(self) -> dict[str, Any]:
        with self._lock:
            registration = self._registration
            return {
                "url": registration.url if registration else None,
                "format": registration.format if registration else None,
                "retry_seconds": registration.retry_seconds if registration else None,
                "pending_events": sum(len(d.events) for d in self._queue),
                "delivered_events": self._tally.delivered_events,
                "deliveries": self._tally.deliveries,
                "failed_attempts": self._tally.failed_attempts,
                "dropped_events": self._tally.dropped_events,
            }

    def _next(self, generation: int) -> tuple[Registration, Delivery] | None:
        """The next delivery that is due, waiting for one; None once unregistered."""
        with self._lock:
            while True:
                if generation != self._generation or self._registration is None:
                    return None
                now = self.clock()
                candidates = self._queue[:1] if self.hold_back else self._queue
                due = [d for d in candidates if d.due <= now]
                if due:
                    delivery = min(due, key=lambda d: d.due)
                    delivery.sending = True
                    return self._registration, delivery
                wake = min((d.due for d in candidates), default=None)
                self._lock.wait(None if wake is None else max(wake - now, 0.0))

    def _run(self, generation: int) -> None:
        with httpx.Client(timeout=self.timeout, follow_redirects=False, trust_env=False) as http:
            while (picked := self._next(generation)) is not None:
                registration, delivery = picked
                ok = self._attempt(http, registration, delivery)
                self._settle(generation, registration, delivery, ok)

    def _attempt(self, http: httpx.Client, registration: Registration, delivery: Delivery) -> bool:
        with self._lock:
            delivery.attempts += 1
        body = self.encode(delivery.events, registration.format)  # no event joins it once it is sending
        try:
            response = http.post(registration.url, content=body, headers=self.sign(registration.secret, body))
        except httpx.HTTPError:
            return False
        return 200 <= response.status_code < 300

    def _settle(self, generation: int, registration: Registration, delivery: Delivery, ok: bool) -> None:
        with self._lock:
            delivery.sending = False
            if generation != self._generation:
                return
            if ok:
                self._queue.remove(delivery)
                self._tally.deliveries += 1
                self._tally.delivered_events += len(delivery.events)
            else:
                self._tally.failed_attempts += 1
                if delivery.attempts > len(registration.retry_seconds):
                    self._queue.remove(delivery)
                    self._tally.dropped_events += len(delivery.events)
                else:
                    delivery.due = self.clock() + registration.retry_seconds[delivery.attempts - 1]
            self._lock.notify_all()
