"""Assembles the QBO sandbox: routers, fault rendering and the shared sandbox middleware."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.types import Scope

from sandbox.common.middleware import SandboxMiddleware
from sandbox.quickbooks import api, control, oauth
from sandbox.quickbooks.config import SandboxConfig
from sandbox.quickbooks.errors import QboError
from sandbox.quickbooks.state import SandboxState

API_PREFIX = "/v3/company/"


def realm_concurrency_key(scope: Scope) -> str | None:
    """In-flight requests are limited per company; OAuth and `/_sandbox` are exempt."""
    path: str = scope.get("path", "")
    if not path.startswith(API_PREFIX):
        return None
    return "realm:" + path[len(API_PREFIX) :].split("/", 1)[0]


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    state = SandboxState(config or SandboxConfig())
    app = FastAPI(title="QuickBooks Online sandbox", version="1.0")
    app.state.sandbox = state
    app.include_router(oauth.router)
    app.include_router(control.router)
    app.include_router(api.router)

    async def render_fault(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, QboError)
        return exc.response(state.clock)

    app.add_exception_handler(QboError, render_fault)
    app.add_middleware(
        SandboxMiddleware,
        stats=state.stats,
        concurrency_limit=lambda: state.limits.concurrent,
        on_concurrency_exceeded=lambda: state.throttled().response(state.clock),
        concurrency_key=realm_concurrency_key,
    )
    return app
