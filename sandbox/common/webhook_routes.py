"""``/_sandbox/webhooks``: register the receiver of a sandbox's webhooks, see what was sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from sandbox.common.webhooks import Registration, WebhookSender


class WebhookTarget(BaseModel):
    """Where to deliver and the secret to sign with. ``format`` and ``retry_seconds`` are
    the sandbox's own knobs (a service takes them from its settings, or has one value)."""

    url: str = Field(pattern=r"^https?://")
    secret: str = Field(min_length=1)
    format: str | None = None
    retry_seconds: list[float] | None = Field(default=None, max_length=100)


def add_webhook_routes(
    router: APIRouter,
    webhooks: Callable[[Request], WebhookSender],
    formats: tuple[str, ...],
    retry_seconds: Callable[[Request], list[float]],
) -> None:
    """The three routes on a sandbox's control router; the first format is the default."""

    @router.post("/webhooks")
    def register(request: Request, target: WebhookTarget) -> dict[str, Any]:
        body_format = target.format or formats[0]
        if body_format not in formats:
            raise HTTPException(422, f"format must be one of {', '.join(formats)}")
        schedule = target.retry_seconds if target.retry_seconds is not None else retry_seconds(request)
        webhooks(request).register(Registration(target.url, target.secret, body_format, schedule))
        return webhooks(request).status()

    @router.get("/webhooks")
    def status(request: Request) -> dict[str, Any]:
        return webhooks(request).status()

    @router.delete("/webhooks")
    def unregister(request: Request) -> dict[str, Any]:
        webhooks(request).unregister()
        return webhooks(request).status()
