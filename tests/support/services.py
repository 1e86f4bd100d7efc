"""Real servers for the tests, started from the machine's own binaries.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as the
``postgres`` system user. A missing binary is a failure, never a skip: the suite must not
turn green on a machine that cannot run what it claims to test.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None)
    if not found:
        raise RuntimeError(f"PostgreSQL binary {name!r} not found: install the postgresql package (make test does)")
    return found


def _as_postgres_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start a throw-away PostgreSQL cluster on a free port; yield a SQLAlchemy URL."""
    root = Path(tempfile.mkdtemp(prefix="pgtest-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        os.chmod(root, 0o700)
    port = free_port()
    initdb = _as_postgres_user(
        [postgres_bin("initdb"), "-D", str(data), "-U", "sync", "--auth=trust", "-E", "UTF8", "--no-sync"]
    )
    subprocess.run(initdb, check=True, capture_output=True)
    pg_ctl = postgres_bin("pg_ctl")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    start = [pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
    subprocess.run(_as_postgres_user(start), check=True, capture_output=True)
    try:
        subprocess.run(
            _as_postgres_user([postgres_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "sync", "state"]),
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg2://sync@127.0.0.1:{port}/state"
    finally:
        stop = [pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]
        subprocess.run(_as_postgres_user(stop), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Start a throw-away Redis on a free port; yield its URL."""
    binary = shutil.which("redis-server")
    if not binary:
        raise RuntimeError("redis-server not found: install the redis-server package (make test does)")
    port = free_port()
    root = tempfile.mkdtemp(prefix="redistest-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", root],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)
