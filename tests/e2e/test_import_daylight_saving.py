"""qbo_import across the end of daylight saving: QBO stamps records in the company's
zone, so a change made at 01:10 -08:00 comes after one made at 01:40 -07:00 although
its text sorts first. A cursor compared as text, or as local time, would miss it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.e2e.import_harness import Pipelines, fresh_pipelines
from tests.support.sandboxes import Sandboxes, sandboxes

BEFORE_FALL_BACK = datetime(2027, 11, 7, 8, 40, tzinfo=timezone.utc)  # 01:40 PDT, 20 minutes before 02:00 PDT


@pytest.fixture(scope="module")
def autumn_boxes() -> Iterator[Sandboxes]:
    """Sandboxes of their own: their QBO clock moves forward only, to November 2027."""
    with sandboxes() as started:
        started.qbo_clock(now=BEFORE_FALL_BACK.isoformat())
        yield started


def test_a_change_made_after_the_clocks_go_back_is_imported(autumn_boxes: Sandboxes, tmp_path: Path) -> None:
    pipes: Pipelines = fresh_pipelines(autumn_boxes, tmp_path)
    pipes.run_import()
    before = pipes.qbo_invoice("1012")
    assert before["MetaData"]["LastUpdatedTime"].endswith("-07:00")

    autumn_boxes.qbo_clock(advance_seconds=30 * 60)  # 01:10 PST, an hour of wall clock repeated
    pipes.qbo_pay(before, 50)
    after = pipes.qbo_invoice("1012")
    stamped = after["MetaData"]["LastUpdatedTime"]
    assert stamped.endswith("-08:00") and stamped < before["MetaData"]["LastUpdatedTime"]  # as text

    pipes.run_import()

    invoice = pipes.invoiced_invoice("1012")
    assert invoice["balance"] == after["Balance"] == before["Balance"] - 50
