"""Assembles the QBO sandbox: routers, fault rendering and the shared sandbox middleware."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Scope

from sandbox.common.middleware import SandboxMiddleware
from sandbox.quickbooks import api, control, errors, oauth
from sandbox.quickbooks.config import SandboxConfig
from sandbox.quickbooks.errors import QboError
from sandbox.quickbooks.limits import API_PREFIX
from sandbox.quickbooks.state import SandboxState


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

    async def render_unrouted(request: Request, exc: Exception) -> Response:
        """Unknown paths, methods and sub-resources (`/invoice/1/pdf`) answer with
        QBO's `Fault` envelope: clients such as python-quickbooks read `Fault` from every
        error body. Only the sandbox's own controls keep FastAPI's `{"detail": ...}`."""
        if request.url.path.startswith("/_sandbox"):
            if isinstance(exc, RequestValidationError):
                return await request_validation_exception_handler(request, exc)
            assert isinstance(exc, HTTPException)
            return await http_exception_handler(request, exc)
        if isinstance(exc, RequestValidationError):
            fault = errors.malformed_body("; ".join(str(error.get("msg")) for error in exc.errors()))
        else:
            fault = errors.unsupported_operation(
                f"{request.method} Could not find resource for relative : {request.url.path}"
            )
        return fault.response(state.clock)

    app.add_exception_handler(QboError, render_fault)
    app.add_exception_handler(HTTPException, render_unrouted)
    app.add_exception_handler(RequestValidationError, render_unrouted)
    app.add_middleware(
        SandboxMiddleware,
        stats=state.stats,
        concurrency_limit=lambda: state.limits.concurrent,
        on_concurrency_exceeded=lambda: state.throttled().response(state.clock),
        concurrency_key=realm_concurrency_key,
    )
    return app
