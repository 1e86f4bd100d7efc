"""The CPU-burn helper of the stress runs: it loads every core and leaves none burning."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support.cpu_burn import busy_cores


def test_one_burner_per_core_all_stopped_on_exit() -> None:
    with busy_cores() as burners:
        assert len(burners) == (os.cpu_count() or 1)
        assert all(burner.poll() is None for burner in burners)

    assert all(burner.returncode is not None for burner in burners)


def test_a_burner_stops_by_itself_when_its_time_is_up() -> None:
    with busy_cores(cores=1, seconds=0.2) as (burner,):
        assert burner.wait(timeout=60) == 0


def test_burners_are_stopped_when_the_body_fails() -> None:
    started: list[subprocess.Popen[bytes]] = []
    with pytest.raises(RuntimeError), busy_cores(cores=2) as burners:
        started.extend(burners)
        raise RuntimeError("the test under load failed")

    assert len(started) == 2 and all(burner.returncode is not None for burner in started)
