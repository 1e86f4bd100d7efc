"""Fixtures of the unit tests: no servers, no waiting, a SQLite state store in the test's
folder. Fakes of the APIs' transports are in ``tests/support``."""

from __future__ import annotations

from pathlib import Path

import pytest
from tenacity import wait_none

from accounting_sync.invoiced import client as invoiced_client
from accounting_sync.qbo_sync import writer
from accounting_sync.quickbooks import client as quickbooks_client
from accounting_sync.store.facade import StateStore


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


@pytest.fixture
def no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries and backoff of both clients and of the batch writer without sleeping."""
    monkeypatch.setattr(invoiced_client.time, "sleep", lambda _: None)
    monkeypatch.setattr(invoiced_client, "wait_exponential_jitter", lambda **_: lambda _: 0)
    monkeypatch.setattr(quickbooks_client, "_backoff", lambda _: 0.0)
    monkeypatch.setattr(writer, "wait_exponential_jitter", lambda **_: wait_none())
