"""Fixtures of the unit tests: no servers, a SQLite state store in the test's folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from accounting_sync.store.facade import StateStore


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")
