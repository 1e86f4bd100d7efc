"""`/_sandbox/*`: test and benchmark controls (never limited, never faulted)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, Field

from sandbox.common.faults import FaultConfig
from sandbox.common.webhook_routes import add_webhook_routes
from sandbox.quickbooks import seed, webhooks
from sandbox.quickbooks.config import CompanyProfile, LatencyConfig, LimitsUpdate
from sandbox.quickbooks.oauth import REVOKE_PATH, TOKEN_PATH
from sandbox.quickbooks.rules import revise
from sandbox.quickbooks.state import sandbox_state

router = APIRouter(prefix="/_sandbox")
add_webhook_routes(
    router,
    lambda request: sandbox_state(request).webhooks,
    webhooks.FORMATS,
    lambda request: webhooks.RETRY_SCHEDULES[sandbox_state(request).config.webhook_retry_schedule],
)


class RealmChoice(BaseModel):
    realm_id: str | None = None


class NewRealm(BaseModel):
    company_name: str | None = None


class CompanyChoice(CompanyProfile):
    """Body of `POST /_sandbox/company`: the profile, for one realm (default: the first)."""

    realm_id: str | None = None
    seed_demo: bool = False


class ClockMove(BaseModel):
    """Move the company clock forward by seconds, or to a moment (never backwards)."""

    advance_seconds: float | None = Field(default=None, ge=0)
    now: datetime | None = None


class CloseBooks(BaseModel):
    date: str | None = Field(..., pattern=r"^\d{4}-\d{2}-\d{2}$")
    realm_id: str | None = None


@router.get("/info")
async def info(request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    base = str(request.base_url).rstrip("/")
    cfg = state.config
    return {
        "realm_id": cfg.realm_id,
        "company_name": state.default_realm.company_name,
        "realms": [{"realm_id": r.realm_id, "company_name": r.company_name, "profile": r.profile.model_dump()}
                   for r in state.realms.values()],
        "client_id": cfg.client_id,
        "client_secret": cfg.client_secret,
        "redirect_uris": cfg.redirect_uris or "any redirect_uri is accepted",
        "endpoints": {
            "authorize": f"{base}/connect/oauth2",
            "token": f"{base}{TOKEN_PATH}",
            "revoke": f"{base}{REVOKE_PATH}",
            "discovery": f"{base}/.well-known/openid_configuration",
            "api_base": f"{base}/v3",
        },
        "oauth": {
            "access_token_ttl": cfg.access_token_ttl,
            "refresh_token_ttl": cfg.refresh_token_ttl,
            "refresh_rotation_interval": cfg.refresh_rotation_interval,
            "refresh_grace": cfg.refresh_grace,
        },
        "limits": state.limits.model_dump(),
        "latency": state.latency.model_dump(),
        "faults": state.faults.config.model_dump(),
    }


@router.post("/reset")
async def reset(request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    state.reset()
    return {"realm_id": state.config.realm_id}


@router.post("/seed")
async def seed_demo(request: Request, choice: Annotated[RealmChoice | None, Body()] = None) -> dict[str, Any]:
    """Replaces the realm's data with the demo company, so seeding twice gives the same data."""
    state = sandbox_state(request)
    current = state.realm(choice.realm_id if choice else None)
    realm = state.add_realm(current.realm_id, current.company_name, current.profile)
    seed.seed_demo(state.context(realm))
    counts = {entity: len(rows) for entity, rows in realm.tables.items() if rows}
    return {"realm_id": realm.realm_id, "counts": counts}


@router.post("/company")
async def company(request: Request, choice: CompanyChoice) -> dict[str, Any]:
    """Makes a realm a new, empty company of this kind (optionally with the demo data); its id
    and OAuth grants stay, as with `reset`."""
    state = sandbox_state(request)
    current = state.realm(choice.realm_id)
    profile = CompanyProfile.model_validate(choice.model_dump(exclude={"realm_id", "seed_demo"}))
    realm = state.add_realm(current.realm_id, current.company_name, profile)
    if choice.seed_demo:
        seed.seed_demo(state.context(realm))
    return {"realm_id": realm.realm_id, "profile": profile.model_dump()}


@router.post("/realms")
async def add_realm(request: Request, new: Annotated[NewRealm | None, Body()] = None) -> dict[str, Any]:
    realm = sandbox_state(request).add_realm(company_name=new.company_name if new else None)
    return {"realm_id": realm.realm_id, "company_name": realm.company_name}


@router.post("/faults")
async def faults(request: Request, config: FaultConfig) -> dict[str, Any]:
    state = sandbox_state(request)
    state.faults.configure(config)
    return state.faults.config.model_dump()


@router.post("/limits")
async def limits(request: Request, update: LimitsUpdate) -> dict[str, Any]:
    state = sandbox_state(request)
    state.limits = state.limits.model_copy(update=update.model_dump(exclude_none=True))
    state.limiter.reset()
    return state.limits.model_dump()


@router.post("/latency")
async def latency(request: Request, model: LatencyConfig) -> dict[str, Any]:
    """Replaces the latency model (omitted fields take their defaults) until the next reset."""
    state = sandbox_state(request)
    state.latency = model
    return state.latency.model_dump()


@router.get("/stats")
async def stats(request: Request) -> dict[str, Any]:
    return sandbox_state(request).stats.snapshot()


@router.post("/stats/reset")
async def stats_reset(request: Request) -> dict[str, Any]:
    state = sandbox_state(request)
    state.stats.reset()
    return state.stats.snapshot()


@router.post("/token")
async def token(request: Request, choice: Annotated[RealmChoice | None, Body()] = None) -> dict[str, Any]:
    """A token pair without the browser flow, for tests and benchmarks."""
    state = sandbox_state(request)
    realm = state.realm(choice.realm_id if choice else None)
    return {**state.tokens.issue(realm.realm_id), "realm_id": realm.realm_id}


@router.post("/clock")
async def move_clock(request: Request, move: ClockMove) -> dict[str, Any]:
    """Timestamps (MetaData, `time`) and `requestid` retention follow this clock; OAuth
    lifetimes do not."""
    clock = sandbox_state(request).clock
    if move.advance_seconds is not None:
        clock.shift += move.advance_seconds
    if move.now is not None:
        target = move.now if move.now.tzinfo else move.now.replace(tzinfo=clock.tz)
        clock.shift = max(clock.shift, target.timestamp() - (clock.timestamp() - clock.shift))
    return {"now": clock.now().isoformat(timespec="seconds"), "shift_seconds": clock.shift}


@router.post("/close-books")
async def close_books(request: Request, books: CloseBooks) -> dict[str, Any]:
    """Sets (or with null clears) Preferences.AccountingInfoPrefs.BookCloseDate of a realm."""
    state = sandbox_state(request)
    realm = state.realm(books.realm_id)
    accounting = {k: v for k, v in realm.preferences["AccountingInfoPrefs"].items() if k != "BookCloseDate"}
    if books.date:
        accounting["BookCloseDate"] = books.date
    realm.preferences = revise(state.context(realm), realm.preferences, {"AccountingInfoPrefs": accounting})
    if not books.date:
        # revise() merges nested objects, so clearing needs an explicit removal.
        realm.preferences["AccountingInfoPrefs"].pop("BookCloseDate", None)
    return {"realm_id": realm.realm_id, "BookCloseDate": books.date}
