"""Starting a sandbox: in the foreground for `make run`, in a thread for tests."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI


def serve(app: FastAPI, host: str, port: int) -> None:
    """Run until interrupted; the quiet access log keeps `make run` readable. A sandbox
    sends its own Date header, from its movable clock."""
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, date_header=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(app: FastAPI, port: int | None = None) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 in a background thread and yield its base URL."""
    port = port or free_port()
    # A sandbox sends its own Date header, from its movable clock.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", access_log=False, date_header=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"sandbox-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"sandbox server on port {port} did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
