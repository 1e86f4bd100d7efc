"""Keep every core busy, to prove that timing-sensitive tests hold on a loaded machine.

A suite that passes only on a quiet machine fails at random on a busy one (CI, a laptop
building something else). ``busy_cores()`` starts one busy-looping process per core and
stops them on exit; each loop also ends by itself when its time is up or its parent is
gone, so not even a killed test run leaves a core burning.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

# Spins until the deadline or until the process that started it has died (re-parented).
LOOP = """
import os, sys, time
parent, deadline = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
while os.getppid() == parent and time.monotonic() < deadline:
    for _ in range(200_000):
        pass
"""


@contextlib.contextmanager
def busy_cores(cores: int | None = None, seconds: float = 1800) -> Iterator[list[subprocess.Popen[bytes]]]:
    """One CPU-bound process per core (or ``cores`` of them) for at most ``seconds``."""
    count = cores or os.cpu_count() or 1
    command = [sys.executable, "-c", LOOP, str(os.getpid()), str(seconds)]
    burners: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(count):
            burners.append(subprocess.Popen(command, stdin=subprocess.DEVNULL))
        yield burners
    finally:
        for burner in burners:
            burner.kill()
        for burner in burners:
            burner.wait(timeout=10)
