"""Assembles the Invoiced sandbox: routes, error handlers and middleware."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from sandbox.common.middleware import SandboxMiddleware
from sandbox.invoiced.api import build_api_router, not_recognized
from sandbox.invoiced.config import InvoicedConfig
from sandbox.invoiced.control import build_control_router
from sandbox.invoiced.errors import ApiError, InvoicedJSONResponse, error_response, invalid
from sandbox.invoiced.gateway import Gateway, concurrency_response
from sandbox.invoiced.seed import seed_demo
from sandbox.invoiced.state import SandboxState


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Routing failures in the service's words (unknown route, wrong method)."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        return error_response(ApiError(405, f"Method not allowed: {request.method} {request.url.path}"))
    if exc.status_code == 404:
        return error_response(not_recognized(request))
    return error_response(ApiError(exc.status_code, str(exc.detail)))


async def _validation_error(request: Request, exc: Exception) -> Response:
    """Only control-plane bodies are validated by FastAPI; report them as invalid requests."""
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0]
    param = ".".join(str(part) for part in first.get("loc", ())[1:]) or None
    return error_response(invalid(str(first.get("msg", "Invalid request")), param))


def create_app(config: InvoicedConfig | None = None) -> FastAPI:
    config = config or InvoicedConfig()
    state = SandboxState.create(config)
    app = FastAPI(
        title="Invoiced sandbox",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        default_response_class=InvoicedJSONResponse,
    )
    app.state.sandbox = state
    app.include_router(build_control_router(state))
    app.include_router(build_api_router(state))
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(
        Gateway, config=state.config, faults=state.faults, idempotency=state.idempotency, clock=state.clock
    )
    app.add_middleware(
        SandboxMiddleware,
        stats=state.stats,
        concurrency_limit=lambda: state.config.concurrent,
        on_concurrency_exceeded=lambda: concurrency_response(state.config.concurrent),
    )
    if config.seed_demo:
        seed_demo(state.store)
    return app
