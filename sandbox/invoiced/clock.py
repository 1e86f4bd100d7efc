"""The sandbox clock: wall time anchored once, then advanced by the monotonic clock.

Tests move it forward (due dates, ``updated_after``) through ``POST /_sandbox/clock``;
anchoring on ``time.monotonic`` keeps timestamps ordered even if the host clock steps back.
"""

from __future__ import annotations

import threading
import time


class SandboxClock:
    """Integer UNIX seconds, as every Invoiced timestamp is."""

    def __init__(self, start: int | None = None) -> None:
        self._lock = threading.Lock()
        self._anchor_wall = float(start) if start is not None else time.time()
        self._anchor_mono = time.monotonic()

    def now(self) -> int:
        with self._lock:
            return int(self._anchor_wall + (time.monotonic() - self._anchor_mono))

    def advance(self, seconds: int) -> int:
        with self._lock:
            self._anchor_wall += seconds
        return self.now()

    def set(self, timestamp: int) -> int:
        with self._lock:
            self._anchor_wall = float(timestamp)
            self._anchor_mono = time.monotonic()
        return self.now()
