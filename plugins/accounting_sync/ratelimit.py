"""Client-side limits for QBO: stay under 500 requests and 40 batches per minute and
10 in flight per company, so the sync never spends its quota on 429s.

Counting uses the ``limits`` library's moving window; waiting for a free slot is ours
(the library only answers "allowed or not").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from accounting_sync.connections import RateLimits


class RequestLimiter:
    """Blocks until a request may be sent within every limit."""

    def __init__(self, limits: RateLimits, key: str = "default") -> None:
        self.key = key
        self._window = MovingWindowRateLimiter(MemoryStorage())
        seconds = max(1, round(limits.window_seconds))
        self._requests = RateLimitItemPerSecond(limits.requests_per_window, seconds)
        self._batches = RateLimitItemPerSecond(limits.batch_per_window, seconds)
        self._in_flight = threading.BoundedSemaphore(limits.concurrent)
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    @contextmanager
    def slot(self, batch: bool = False) -> Iterator[None]:
        with self._in_flight:
            self._wait_for_window(batch)
            yield

    def _wait_for_window(self, batch: bool) -> None:
        while True:
            with self._lock:
                # Test both windows before hitting either, so a refusal wastes nothing.
                free = self._window.test(self._requests, self.key) and (
                    not batch or self._window.test(self._batches, self.key)
                )
                if free:
                    self._window.hit(self._requests, self.key)
                    if batch:
                        self._window.hit(self._batches, self.key)
                    return
                pause = self._seconds_until_free(batch)
            self.waited_seconds += pause
            time.sleep(pause)

    def _seconds_until_free(self, batch: bool) -> float:
        items = [self._requests, self._batches] if batch else [self._requests]
        resets = []
        for item in items:
            stats = self._window.get_window_stats(item, self.key)
            if stats.remaining <= 0:
                resets.append(stats.reset_time - time.time())
        return min(max(max(resets, default=0.05), 0.01), 5.0)
