"""Accounting API routes under `/v3/company/{realmId}/`.

Every request passes the same gates in Intuit's order: bearer token (401/403), per-realm
throttle (429), `requestid` replay, then an optional injected fault, then the handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from sandbox.quickbooks import cdc, entities, errors, query, taxes
from sandbox.quickbooks.errors import qbo_json
from sandbox.quickbooks.schema import NAME_LIST, EntitySpec, spec_for_name, spec_for_path
from sandbox.quickbooks.state import SandboxState, sandbox_state
from sandbox.quickbooks.store import Obj, Realm

router = APIRouter(prefix="/v3/company/{realm_id}")

READ_FAULTS = frozenset({"429", "500", "503", "slow"})
WRITE_FAULTS = READ_FAULTS | {"drop"}
Producer = Callable[[str | None], Awaitable[Response]]


def _admit(request: Request, realm_id: str, batch: bool = False) -> tuple[SandboxState, Realm]:
    state = sandbox_state(request)
    realm = state.authenticate(request.headers.get("authorization"), realm_id)
    state.admit(realm_id, batch)
    return state, realm


def _includes(value: object) -> frozenset[str]:
    """`include=` / batch `optionsData` values, e.g. `allowduplicatedocnum` or `void`."""
    text = value if isinstance(value, str) else ""
    return frozenset(part.strip().lower() for part in text.split(",") if part.strip())


def _spec(segment: str) -> EntitySpec:
    spec = spec_for_path(segment)
    if spec is None:
        raise errors.unsupported_operation(f"Could not find resource for relative : /{segment}")
    return spec


async def _json_object(request: Request) -> Obj:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise errors.malformed_body("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise errors.malformed_body("request body must be a JSON object")
    return body


def _injected_response(kind: str | None, state: SandboxState) -> Response | None:
    """Gateway-level faults answer before the handler runs, so nothing is written."""
    if kind == "429":
        return state.throttled().response(state.clock)
    if kind == "500":
        return errors.system_failure().response(state.clock)
    if kind == "503":
        return errors.service_unavailable()
    return None


def _raise_injected_business_fault(kind: str | None, entity: str) -> None:
    if kind == "6000":
        raise errors.one_name_at_a_time(entity)
    if kind == "5010":
        raise errors.stale_object()


def _write_faults(spec: EntitySpec, operation: str) -> frozenset[str]:
    allowed = set(WRITE_FAULTS)
    if spec.name in NAME_LIST:
        allowed.add("6000")
    if operation != "create":
        allowed.add("5010")
    return frozenset(allowed)


@contextlib.asynccontextmanager
async def name_guard(realm: Realm, entity: str, hold_seconds: float) -> AsyncIterator[None]:
    """QBO lets one name-list write per company run at a time; an overlapping one gets 6000."""
    if entity not in NAME_LIST:
        yield
        return
    if not realm.name_lock.acquire(blocking=False):
        raise errors.one_name_at_a_time(entity)
    try:
        if hold_seconds:
            await asyncio.sleep(hold_seconds)
        yield
    finally:
        realm.name_lock.release()


async def _answer(request: Request, state: SandboxState, realm: Realm, allowed: frozenset[str],
                  produce: Producer, requestid: str | None = None, requestid_limit: int = 50,
                  items: int = 1) -> Response:
    """Take the modelled time, replay, inject faults, run the handler, remember the answer
    for the requestid."""
    delay = state.latency.seconds(items)
    if delay:
        await asyncio.sleep(delay)
    if requestid is not None:
        if len(requestid) > requestid_limit:
            raise errors.requestid_too_long(requestid, requestid_limit)
        stored = state.replays.lookup(realm, requestid)
        if stored is not None:
            return Response(stored.body, stored.status, media_type=stored.media_type, headers=errors.api_headers())
    kind = state.faults.draw(allowed)
    injected = _injected_response(kind, state)
    if injected is not None:
        return injected
    try:
        response = await produce(kind)
    except errors.QboError as exc:
        response = exc.response(state.clock)
    if requestid is not None and (response.status_code < 400 or state.config.requestid_replays_faults):
        state.replays.remember(realm, requestid, response.status_code, bytes(response.body),
                               response.media_type or "application/json")
    if kind == "drop":
        request.state.drop_connection = True
    if kind == "slow":
        await asyncio.sleep(state.faults.config.slow_seconds)
    return response


def _time(state: SandboxState) -> str:
    return state.clock.response_time()


def _run_query(state: SandboxState, realm: Realm, text: str) -> Obj:
    cfg = state.config
    return query.execute(realm, text, state.clock.tz, cfg.query_default_results, cfg.query_max_results)


async def _query(request: Request, realm_id: str, text: str, requestid: str | None) -> Response:
    state, realm = _admit(request, realm_id)

    async def produce(kind: str | None) -> Response:
        return qbo_json({"QueryResponse": _run_query(state, realm, text), "time": _time(state)})

    return await _answer(request, state, realm, READ_FAULTS, produce, requestid, state.config.requestid_max_length)


@router.get("/query")
async def query_get(request: Request, realm_id: str, query: str = "") -> Response:
    return await _query(request, realm_id, query, None)


@router.post("/query")
async def query_post(request: Request, realm_id: str, requestid: str | None = None) -> Response:
    """python-quickbooks posts the query text with `Content-Type: application/text`."""
    text = (await request.body()).decode("utf-8", errors="replace")
    return await _query(request, realm_id, text, requestid)


@router.get("/cdc")
async def change_data_capture(request: Request, realm_id: str, entities: str = "",
                              changed_since: str = Query("", alias="changedSince")) -> Response:
    """Changes since a moment at most 30 days back, deletes as tombstones (`cdc.py`)."""
    state, realm = _admit(request, realm_id)

    async def produce(kind: str | None) -> Response:
        answer = cdc.changes(realm, entities, changed_since, state.clock, state.config)
        return qbo_json({**answer, "time": _time(state)})

    return await _answer(request, state, realm, READ_FAULTS, produce)


@router.post("/batch")
async def batch(request: Request, realm_id: str, requestid: str | None = None) -> Response:
    """Up to 30 independent items; each succeeds or faults on its own, the request is 200."""
    state, realm = _admit(request, realm_id, batch=True)
    items = (await _json_object(request)).get("BatchItemRequest")
    if not isinstance(items, list) or not items:
        raise errors.batch_empty()
    if len(items) > state.config.batch_max_items:
        raise errors.batch_too_large(state.config.batch_max_items, len(items))

    async def produce(kind: str | None) -> Response:
        hidden: set[tuple[str, str]] = set()
        answers = [await _batch_item(state, realm, item, hidden) for item in items]
        return qbo_json({"BatchItemResponse": answers, "time": _time(state)})

    limit = state.config.requestid_batch_max_length
    return await _answer(request, state, realm, WRITE_FAULTS, produce, requestid, limit, len(items))


async def _batch_item(state: SandboxState, realm: Realm, item: object, hidden: set[tuple[str, str]]) -> Obj:
    bid = item.get("bId") if isinstance(item, dict) else None
    try:
        if not isinstance(item, dict):
            raise errors.malformed_body("BatchItemRequest entries must be objects")
        if "Query" in item:
            return {"bId": bid, "QueryResponse": _run_query(state, realm, str(item["Query"]))}
        spec, body = _batch_payload(item)
        includes = _includes(item.get("optionsData"))
        operation = entities.resolve_batch_operation(item.get("operation"), includes)
        async with name_guard(realm, spec.name, state.config.name_write_hold_seconds):
            obj = entities.apply(state.context(realm, includes, hidden), spec, operation, body)
        if operation == "create":
            hidden.add((spec.name, obj["Id"]))
        return {"bId": bid, spec.name: obj}
    except errors.Fault as fault:
        return {"bId": bid, "Fault": fault.fault()}


def _batch_payload(item: Obj) -> tuple[EntitySpec, Obj]:
    for key, value in item.items():
        spec = spec_for_name(key) if key not in ("bId", "operation", "optionsData") else None
        if spec is not None and spec.name == key and isinstance(value, dict):
            return spec, value
    raise errors.malformed_body("BatchItemRequest has no entity payload")


@router.get("/companyinfo/{company_id}")
async def company_info(request: Request, realm_id: str, company_id: str) -> Response:
    state, realm = _admit(request, realm_id)

    async def produce(kind: str | None) -> Response:
        if company_id != realm_id:
            raise errors.object_not_found()
        return qbo_json({"CompanyInfo": realm.company_info, "time": _time(state)})

    return await _answer(request, state, realm, READ_FAULTS, produce)


@router.get("/preferences")
async def preferences(request: Request, realm_id: str) -> Response:
    state, realm = _admit(request, realm_id)

    async def produce(kind: str | None) -> Response:
        return qbo_json({"Preferences": realm.preferences, "time": _time(state)})

    return await _answer(request, state, realm, READ_FAULTS, produce)


@router.post("/taxservice/taxcode")
async def tax_service(request: Request, realm_id: str, requestid: str | None = None) -> Response:
    state, realm = _admit(request, realm_id)
    body = await _json_object(request)

    async def produce(kind: str | None) -> Response:
        with realm.lock:
            return qbo_json(taxes.create_tax_code(state.context(realm), body))

    limit = state.config.requestid_max_length
    return await _answer(request, state, realm, WRITE_FAULTS, produce, requestid, limit)


@router.get("/{entity_path}/{obj_id}")
async def read_entity(request: Request, realm_id: str, entity_path: str, obj_id: str) -> Response:
    state, realm = _admit(request, realm_id)
    spec = _spec(entity_path)

    async def produce(kind: str | None) -> Response:
        obj = realm.get(spec.name, obj_id)
        if obj is None:
            raise errors.object_not_found(deleted=obj_id in realm.deleted[spec.name])
        return qbo_json({spec.name: obj, "time": _time(state)})

    return await _answer(request, state, realm, READ_FAULTS, produce)


@router.post("/{entity_path}")
async def write_entity(request: Request, realm_id: str, entity_path: str, operation: str | None = None,
                       include: str | None = None, requestid: str | None = None) -> Response:
    """Create, full/sparse update, `operation=delete`, `operation=void`, `include=void`."""
    state, realm = _admit(request, realm_id)
    spec = _spec(entity_path)
    body = await _json_object(request)
    includes = _includes(include)
    operation_name = entities.resolve_operation(spec, operation, includes, body)

    async def produce(kind: str | None) -> Response:
        _raise_injected_business_fault(kind, spec.name)
        async with name_guard(realm, spec.name, state.config.name_write_hold_seconds):
            obj = entities.apply(state.context(realm, includes), spec, operation_name, body)
        return qbo_json({spec.name: obj, "time": _time(state)})

    allowed = _write_faults(spec, operation_name)
    return await _answer(request, state, realm, allowed, produce, requestid, state.config.requestid_max_length)
