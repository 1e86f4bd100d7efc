"""Concurrent refreshes against a QBO sandbox that rotates the refresh token on every
refresh and kills the old one at once: no process may lose the rotated token."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from accounting_sync.config.connections import QuickBooksConfig
from accounting_sync.quickbooks.oauth import TokenManager
from accounting_sync.store.facade import StateStore
from sandbox.quickbooks.config import SandboxConfig
from tests.support.sandboxes import Sandboxes, sandboxes


@pytest.fixture(scope="module")
def rotating_boxes() -> Iterator[Sandboxes]:
    """A QBO sandbox that rotates the refresh token on every refresh, with no grace."""
    with sandboxes(SandboxConfig(refresh_rotation_interval=0, refresh_grace=0)) as started:
        yield started


def expire_access_token(store: StateStore, company: str) -> None:
    with store.locked_token(company) as row:
        row.access_expires_at = None


def refresh_into(store: StateStore, config: QuickBooksConfig, results: list[object]) -> None:
    try:
        results.append(TokenManager(store, "refresh-race", config).access_token().value)
    except Exception as error:  # noqa: BLE001 - collected and asserted by the test
        results.append(error)


def test_eight_workers_refreshing_at_once_keep_a_working_token(
    rotating_boxes: Sandboxes, any_store: StateStore
) -> None:
    boxes, store = rotating_boxes, any_store
    config = boxes.qbo_config()
    boxes.connect(store, company="refresh-race")
    for round_number in range(3):
        expire_access_token(store, "refresh-race")
        results: list[object] = []
        threads = [threading.Thread(target=refresh_into, args=(store, config, results)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        errors = [r for r in results if isinstance(r, Exception)]
        assert errors == [], f"round {round_number}: {errors[:2]}"
        assert len(set(results)) == 1, "every worker should use the single refreshed token"
    # The stored refresh token is the newest one: one more refresh still works.
    expire_access_token(store, "refresh-race")
    assert TokenManager(store, "refresh-race", config).access_token().value
    assert store.read_token("refresh-race").status == "connected"  # type: ignore[union-attr]
