"""Fixtures of the integration tests: both sandboxes (one pair per module) and a state
store, on SQLite or, for the tests that hold for both databases, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from accounting_sync.store.facade import StateStore
from tests.support.sandboxes import Sandboxes, sandboxes


@pytest.fixture(scope="module")
def boxes() -> Iterator[Sandboxes]:
    """Both sandboxes with their defaults, shared by the tests of one module."""
    with sandboxes() as started:
        yield started


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    """The state store on each database it runs on; PostgreSQL is emptied afterwards."""
    if request.param == "sqlite":
        yield StateStore(f"sqlite:///{tmp_path / 'state.db'}")
        return
    store = StateStore(request.getfixturevalue("postgres_url"))
    yield store
    with store.engine.begin() as conn:
        for table in reversed(store.engine.dialect.get_table_names(conn)):
            conn.execute(text(f'DELETE FROM "{table}"'))
    store.engine.dispose()
