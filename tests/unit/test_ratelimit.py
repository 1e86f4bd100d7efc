"""The client-side QBO limiter."""

from __future__ import annotations

import threading
import time

from accounting_sync.config.connections import RateLimits
from accounting_sync.quickbooks.ratelimit import RequestLimiter


def send(limiter: RequestLimiter, batch: bool = False) -> float:
    """Take a slot as a request would; returns when it was granted."""
    with limiter.slot(batch=batch):
        return time.monotonic()


def test_requests_beyond_the_window_budget_wait_for_the_window() -> None:
    limiter = RequestLimiter(RateLimits(requests_per_window=5, batch_per_window=2, concurrent=10, window_seconds=0.4))
    started = time.monotonic()
    sent = [send(limiter) for _ in range(5)]
    assert sent[-1] - started < 0.4
    sent.append(send(limiter))
    assert sent[-1] - started >= 0.4


def test_batches_have_their_own_smaller_budget() -> None:
    limiter = RequestLimiter(RateLimits(requests_per_window=100, batch_per_window=2, concurrent=10, window_seconds=0.4))
    started = time.monotonic()
    sent = [send(limiter, batch=True) for _ in range(3)]
    assert sent[-1] - started >= 0.4
    assert limiter.waited_seconds > 0


def test_in_flight_requests_are_capped() -> None:
    limiter = RequestLimiter(RateLimits(concurrent=2))
    inside, peak = 0, 0
    lock = threading.Lock()

    def call() -> None:
        nonlocal inside, peak
        with limiter.slot():
            with lock:
                inside += 1
                peak = max(peak, inside)
            time.sleep(0.05)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 2


def test_the_second_half_of_a_window_budget_is_spaced() -> None:
    """A burst of a window's batches at once would reach QBO queued, the first ones late."""
    limiter = RequestLimiter(RateLimits(requests_per_window=100, batch_per_window=8, concurrent=10, window_seconds=0.4))
    sent = [send(limiter, batch=True) for _ in range(8)]
    assert sent[7] - sent[4] >= 3 * limiter.window / 8 / 2
