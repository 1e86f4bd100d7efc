"""Client-side limits for QBO: stay under 500 requests and 40 batches per window and 10
in flight per company, so the sync never spends its quota on 429s.

A sliding window of send times per budget. The window is padded a little (1 % + 50 ms)
because QBO counts a request when it arrives, a moment after we count it when we send;
without the pad, jitter lets an occasional request land in QBO's previous window and
come back as a 429 that costs far more than the pad. (Written here rather than taken from
a rate-limit library: those count in whole seconds and cannot express the pad.)

Once half of a budget is used in the window, its sends are also spaced by at least half
their average interval (the window's other 20 batches over a quarter of it, not at once):
with several batches in flight, a window's worth sent in one burst reaches QBO as a
queue, the first ones late, and a late arrival is how a request of the next window lands
in this one. Half the interval still lets the load catch up twice as fast after a pause
(a chunk being prepared); a small sync, under half the budget, is never spaced.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from accounting_sync.config.connections import RateLimits

PAD_RATIO = 0.01
PAD_SECONDS = 0.05
SPACING = 0.5  # of a budget's average interval
SPACED_FROM = 0.5  # of a budget used in the window


class RequestLimiter:
    """Blocks until a request may be sent within every limit; shared by every thread that
    sends for the company (the load's batches in flight), so all its state is locked."""

    def __init__(self, limits: RateLimits) -> None:
        self.window = limits.window_seconds * (1 + PAD_RATIO) + PAD_SECONDS
        self._budgets = {"requests": limits.requests_per_window, "batch": limits.batch_per_window}
        self._sent: dict[str, deque[float]] = {name: deque() for name in self._budgets}
        self._spacing = {name: self.window / budget * SPACING for name, budget in self._budgets.items()}
        self._in_flight = threading.BoundedSemaphore(limits.concurrent)
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    @contextmanager
    def slot(self, batch: bool = False) -> Iterator[None]:
        with self._in_flight:
            self._wait_for_window(["requests", "batch"] if batch else ["requests"])
            yield

    def _wait_for_window(self, names: list[str]) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                pause = max((self._pause(name, now) for name in names), default=0.0)
                if pause <= 0:
                    for name in names:
                        self._sent[name].append(now)
                    return
                self.waited_seconds += pause
            time.sleep(pause)

    def _pause(self, name: str, now: float) -> float:
        """Seconds until budget ``name`` has room (0 when it has room now)."""
        sent = self._sent[name]
        while sent and now - sent[0] >= self.window:
            sent.popleft()
        spaced = sent[-1] + self._spacing[name] - now if len(sent) >= self._budgets[name] * SPACED_FROM else 0.0
        return max(spaced, 0.0 if len(sent) < self._budgets[name] else self.window - (now - sent[0]))
