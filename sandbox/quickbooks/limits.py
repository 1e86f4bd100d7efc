"""Per-realm sliding-window throttles (requests and batches), like Intuit's per-minute limits."""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque

from sandbox.quickbooks import errors
from sandbox.quickbooks.config import LimitsConfig

API_PREFIX = "/v3/company/"


def call_kind(method: str, path: str) -> str | None:
    """Intuit meters "CorePlus" data-out calls (reads, queries, CDC) and not "Core" writes
    (platform-2026.md §4.2); a batch counts as a write, OAuth and controls as neither."""
    if not path.startswith(API_PREFIX):
        return None
    return "reads" if method == "GET" or path.endswith("/query") else "writes"


class RateLimiter:
    """Admits a request only if every window it counts in still has room."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def admit(self, realm_id: str, limits: LimitsConfig, batch: bool, body_format: str) -> None:
        """Count the request, or raise `Throttled` with the seconds until the oldest slot frees."""
        budgets = [("requests", limits.requests_per_window)]
        if batch:
            budgets.append(("batch", limits.batch_per_window))
        now = time.monotonic()
        with self._lock:
            windows = [(self._window(realm_id, name, now, limits.window_seconds), size) for name, size in budgets]
            for window, size in windows:
                if len(window) >= size:
                    wait = limits.window_seconds - (now - window[0])
                    raise errors.Throttled(math.ceil(wait), body_format)
            for window, _ in windows:
                window.append(now)

    def _window(self, realm_id: str, name: str, now: float, span: float) -> deque[float]:
        window = self._windows[(realm_id, name)]
        while window and now - window[0] >= span:
            window.popleft()
        return window

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
