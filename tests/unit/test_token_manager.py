"""QuickBooks token refresh with a fake Intuit token endpoint and a real SQLite store:
a refresh re-reads the token row under its lock, so a token another process already
replaced is used instead of being refreshed again (QBO rotates refresh tokens: a second
refresh of the same one would leave a dead token stored)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from accounting_sync.config.connections import QuickBooksConfig
from accounting_sync.quickbooks.oauth import TokenManager
from accounting_sync.store.facade import StateStore

COMPANY, REALM = "acme", "9130"
CONFIG = QuickBooksConfig(api_base="https://qbo.test", client_id="app", client_secret="secret")


class FakeIntuit:
    """The token endpoint: each refresh hands out the next pair; ``delay`` keeps a refresh
    in flight long enough for another worker to queue behind the lock."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.refreshed_with: list[str] = []
        self._lock = threading.Lock()

    def refresh_token(self, url: str, refresh_token: str, **_: Any) -> dict[str, Any]:
        time.sleep(self.delay)
        with self._lock:
            self.refreshed_with.append(refresh_token)
            n = len(self.refreshed_with) + 1
        return {"access_token": f"A{n}", "refresh_token": f"R{n}", "expires_in": 3600}


@pytest.fixture
def intuit(monkeypatch: pytest.MonkeyPatch) -> FakeIntuit:
    fake = FakeIntuit()
    monkeypatch.setattr(TokenManager, "_session", lambda self: fake)
    return fake


def manager(store: StateStore) -> TokenManager:
    return TokenManager(store, COMPANY, CONFIG, REALM)


def connected(store: StateStore) -> TokenManager:
    tokens = manager(store)
    tokens.save({"access_token": "A1", "refresh_token": "R1", "expires_in": 3600}, REALM)
    return tokens


def expire(store: StateStore) -> None:
    with store.locked_token(COMPANY) as row:
        row.access_expires_at = None


def test_a_token_another_process_replaced_is_used_instead_of_refreshing_again(
    store: StateStore, intuit: FakeIntuit
) -> None:
    ours = connected(store)
    rejected = ours.access_token()
    manager(store).save({"access_token": "A2", "refresh_token": "R2", "expires_in": 3600}, REALM)  # another worker

    assert ours.refresh_after_401(rejected).value == "A2"
    assert intuit.refreshed_with == []


def test_a_rejected_token_nobody_replaced_is_refreshed_once_and_the_new_pair_kept(
    store: StateStore, intuit: FakeIntuit
) -> None:
    tokens = connected(store)
    version = store.read_token(COMPANY).version  # type: ignore[union-attr]

    assert tokens.refresh_after_401(tokens.access_token()).value == "A2"

    assert intuit.refreshed_with == ["R1"]
    assert store.read_token(COMPANY).version == version + 1  # type: ignore[union-attr]
    expire(store)
    assert manager(store).access_token().value == "A3"
    assert intuit.refreshed_with == ["R1", "R2"], "the rotated refresh token was stored"


def test_workers_turned_away_with_the_same_token_ask_intuit_once_and_share_the_new_one(
    store: StateStore, intuit: FakeIntuit
) -> None:
    rejected = connected(store).access_token()
    intuit.delay = 0.1
    got: list[str] = []

    def work() -> None:
        got.append(manager(store).refresh_after_401(rejected).value)

    workers = [threading.Thread(target=work) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert intuit.refreshed_with == ["R1"]
    assert got == ["A2"] * 4
