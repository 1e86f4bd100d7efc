"""``/_sandbox/*``: the control plane tests and benchmarks drive (no auth, no faults)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from sandbox.common.faults import FaultConfig
from sandbox.common.webhook_routes import add_webhook_routes
from sandbox.invoiced.bulk import BulkLoad, bulk_load
from sandbox.invoiced.seed import LOCALES, seed_demo
from sandbox.invoiced.state import SandboxState
from sandbox.invoiced.webhooks import FORMATS, RETRY_SECONDS


class Limits(BaseModel):
    concurrent: int = Field(ge=1)


class SeedOptions(BaseModel):
    """Which demo account: the US one, or one billing like a business of another country."""

    locale: str = "us"

    @model_validator(mode="after")
    def known(self) -> SeedOptions:
        if self.locale not in LOCALES:
            raise ValueError(f"locale must be one of {', '.join(LOCALES)}")
        return self


class ClockMove(BaseModel):
    """Either move forward by ``advance_seconds`` or jump to ``now`` (UNIX seconds)."""

    advance_seconds: int | None = None
    now: int | None = None

    @model_validator(mode="after")
    def exactly_one(self) -> ClockMove:
        if (self.advance_seconds is None) == (self.now is None):
            raise ValueError("send exactly one of advance_seconds or now")
        return self


def build_control_router(state: SandboxState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")
    _data_routes(router, state)
    _fault_routes(router, state)
    _clock_routes(router, state)
    add_webhook_routes(router, lambda _: state.webhooks, FORMATS, lambda _: list(RETRY_SECONDS))
    return router


def _data_routes(router: APIRouter, state: SandboxState) -> None:
    """What the sandbox holds: inspect, empty, seed, load in bulk."""

    @router.get("/info")
    def info() -> dict[str, Any]:
        return {
            "service": "invoiced",
            "api_key": state.config.api_key,
            "concurrent": state.config.concurrent,
            "faults": state.faults.config.model_dump(),
            "now": state.clock.now(),
            "counts": state.store.counts(),
            "config": state.config.model_dump(exclude={"api_key"}),
        }

    @router.post("/reset")
    def reset() -> dict[str, Any]:
        state.reset()
        return {"counts": state.store.counts()}

    @router.post("/seed")
    def seed(options: SeedOptions | None = None) -> dict[str, Any]:
        state.reset()
        seed_demo(state.store, (options or SeedOptions()).locale)
        return {"counts": state.store.counts()}

    @router.post("/bulk")
    def bulk(load: BulkLoad) -> dict[str, Any]:
        return bulk_load(state.store, load)


def _fault_routes(router: APIRouter, state: SandboxState) -> None:
    """How the sandbox misbehaves and what it counted."""

    @router.get("/faults")
    def get_faults() -> dict[str, Any]:
        return state.faults.config.model_dump()

    @router.post("/faults")
    def set_faults(faults: FaultConfig) -> dict[str, Any]:
        state.faults.configure(faults)
        return state.faults.config.model_dump()

    @router.get("/stats")
    def stats() -> dict[str, Any]:
        return state.stats.snapshot()

    @router.post("/stats/reset")
    def reset_stats() -> dict[str, Any]:
        state.stats.reset()
        return state.stats.snapshot()

    @router.post("/limits")
    def limits(limits: Limits) -> dict[str, Any]:
        state.config.concurrent = limits.concurrent
        return {"concurrent": state.config.concurrent}


def _clock_routes(router: APIRouter, state: SandboxState) -> None:
    """The sandbox's clock, which also drives idempotency expiry and the per-minute jobs."""

    @router.post("/clock")
    def clock(move: ClockMove) -> dict[str, Any]:
        if move.now is not None:
            now = state.clock.set(move.now)
        else:
            now = state.clock.advance(move.advance_seconds or 0)
        with state.store.session():  # the per-minute jobs catch up with the moved clock
            return {"now": now}
