"""Fixtures of the end-to-end tests: both sandboxes over HTTP (one pair per module), a
SQLite state store per test, and the demo books seeded and connected."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from accounting_sync.store.facade import StateStore
from tests.e2e.import_harness import import_boxes, pipelines  # noqa: F401
from tests.support.sandboxes import Sandboxes, sandboxes


@pytest.fixture(scope="module")
def boxes() -> Iterator[Sandboxes]:
    """Both sandboxes with their defaults, shared by the tests of one module."""
    with sandboxes() as started:
        yield started


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


@pytest.fixture
def seeded(boxes: Sandboxes, store: StateStore) -> Sandboxes:
    """The demo books on Invoiced, an empty QBO company connected, no faults, counters at zero."""
    boxes.reset(seed_invoiced=True)
    boxes.faults("qbo", probability=0, kinds=[])
    boxes.faults("invoiced", probability=0, kinds=[])
    boxes.connect(store)
    boxes.reset_stats()
    return boxes
