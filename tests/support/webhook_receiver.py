"""A webhook receiver for the sandboxes' deliveries: records every request it gets, and
answers the first ``fail_first`` of them with ``fail_status``."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response

from sandbox.common.serve import running_server


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    url: str = ""
    fail_first: int = 0
    fail_status: int = 500
    requests: list[Received] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self) -> list[Received]:
        with self.lock:
            return [r for r, status in zip(self.requests, self.answered, strict=True) if status == 200]

    def wait_for(self, condition: Callable[[Receiver], bool], seconds: float = 30) -> None:
        """Poll for a condition on what arrived; generous, as deliveries run on a thread."""
        deadline = time.monotonic() + seconds
        while not condition(self):
            if time.monotonic() > deadline:
                raise TimeoutError(f"webhook receiver: condition not met in {seconds} s ({len(self.requests)} requests)")
            time.sleep(0.02)


@contextlib.contextmanager
def webhook_receiver(**options: Any) -> Iterator[Receiver]:
    receiver = Receiver(**options)
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        body = await request.body()
        with receiver.lock:
            status = receiver.fail_status if len(receiver.requests) < receiver.fail_first else 200
            receiver.requests.append(Received(body, dict(request.headers)))
            receiver.answered.append(status)
        return Response(status_code=status)

    with running_server(app) as base_url:
        receiver.url = f"{base_url}/hook"
        yield receiver
