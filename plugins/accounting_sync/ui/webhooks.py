"""The webhook endpoints of the Accounting Sync app, for Invoiced and Intuit to call.

``POST /accounting-sync/webhooks/invoiced/<company key>`` and
``POST /accounting-sync/webhooks/quickbooks`` (one per Intuit app, the realm is in each
event). Their callers are not Airflow users: these routes carry no Airflow auth, and the
HMAC signature of the body is their authentication instead (401 when it does not match,
and nothing is read or stored). A valid delivery is stored and answered at once, well
within Intuit's 3 s: the DAG run it leads to starts from the trigger, not from here.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from accounting_sync.store.facade import StateStore
from accounting_sync.webhooks.payloads import PayloadInvalid
from accounting_sync.webhooks.receive import SignatureRefused, receive_intuit, receive_invoiced
from accounting_sync.webhooks.signatures import INTUIT_HEADER, INVOICED_HEADER

PREFIX = "/webhooks"
MAX_BODY = 1024 * 1024
"""Larger bodies are refused unread: both senders send ids, not records."""


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "The webhook body is too large.")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "The webhook body is too large.")
    return body


def _refusal(error: Exception) -> HTTPException:
    if isinstance(error, SignatureRefused):
        return HTTPException(status.HTTP_401_UNAUTHORIZED, str(error))
    return HTTPException(status.HTTP_400_BAD_REQUEST, f"The webhook body was not understood: {error}")


def build_router(get_store: Callable[[], StateStore]) -> APIRouter:
    """The two endpoints, on the state store the app's pages use."""
    router = APIRouter(prefix=PREFIX)
    store_dependency = Depends(get_store)  # a default, not Annotated: annotations are strings here

    @router.post("/invoiced/{company_key}")
    async def invoiced(company_key: str, request: Request, store: StateStore = store_dependency) -> JSONResponse:
        body = await _body(request)
        try:
            received = await run_in_threadpool(
                receive_invoiced, store, company_key, body, request.headers.get(INVOICED_HEADER)
            )
        except (SignatureRefused, PayloadInvalid) as error:
            raise _refusal(error) from None
        return JSONResponse(received.as_dict())

    @router.post("/quickbooks")
    async def quickbooks(request: Request, store: StateStore = store_dependency) -> JSONResponse:
        body = await _body(request)
        try:
            received = await run_in_threadpool(receive_intuit, store, body, request.headers.get(INTUIT_HEADER))
        except (SignatureRefused, PayloadInvalid) as error:
            raise _refusal(error) from None
        return JSONResponse(received.as_dict())

    return router
