"""HTTP routes of the emulated Invoiced API (no version prefix, as on the service).

Handlers are plain functions run in the thread pool; each holds the store lock for the
whole read-modify-render so a response always shows one consistent account state, with
the service's scheduled jobs caught up to the sandbox clock first (`Store.session`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from sandbox.invoiced.accounting import sync_status
from sandbox.invoiced.bodies import decode_body
from sandbox.invoiced.credits import write_off_invoice
from sandbox.invoiced.customers import (
    create_contact,
    delete_contact,
    get_contact,
    get_customer,
    update_contact,
)
from sandbox.invoiced.documents import CREDIT_NOTES, INVOICES, void_document
from sandbox.invoiced.errors import ApiError, InvoicedJSONResponse
from sandbox.invoiced.listing import Listing, link_header, paginate, parse_list_query, query_signature, select
from sandbox.invoiced.options import check_query
from sandbox.invoiced.refunds import refund_transaction
from sandbox.invoiced.resources import CONTACT_FIELDS, Resource, RouteQuery, build_resources
from sandbox.invoiced.serialize import Renderer, Rendering
from sandbox.invoiced.state import SandboxState


async def json_body(request: Request) -> dict[str, Any]:
    return decode_body(await request.body(), request.headers.get("content-type", ""))


JsonBody = Annotated[dict[str, Any], Depends(json_body)]


def not_recognized(request: Request) -> ApiError:
    return ApiError(404, f"Request was not recognized: {request.method} {request.url.path}")


def parse_id(request: Request, raw: str, integer: bool) -> Any:
    """Integer ids must look like integers; anything else is an unknown route, not a 404 record."""
    if not integer:
        return raw
    if not raw.isdigit():
        raise not_recognized(request)
    return int(raw)


class InvoicedApi:
    """Builds the router of one sandbox; every handler renders under the store lock."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.store = state.store
        self.router = APIRouter()

    def build(self) -> APIRouter:
        for resource in build_resources(self.store):
            self._add_resource(resource)
        self._add_contacts()
        self._add_document_actions()
        return self.router

    # Rendering

    def render(self, record: Any, query: dict[str, str]) -> dict[str, Any]:
        return dict(Renderer(self.store, Rendering.from_query(query)).render(record))

    def announce(self, record: Any, action: str, rendered: dict[str, Any] | None = None) -> None:
        """A webhook event, with the object as the API renders it by default."""
        rendered = self.render(record, {}) if rendered is None else rendered
        self.state.events.announce(record, rendered, action, self.store.now())

    def one(self, request: Request, record: Any, status: int = 200) -> Response:
        """The record as the request asked for it; a write is also announced by webhook."""
        if request.method != "GET":
            self.announce(record, "created" if status == 201 else "updated")
        return InvoicedJSONResponse(self.render(record, dict(request.query_params)), status_code=status)

    def page(self, request: Request, records: Iterable[Any], listing: Listing) -> Response:
        config = self.state.config
        pairs = request.query_params.multi_items()
        query = parse_list_query(pairs, listing, config.per_page_max)
        matches = select(records, query, listing, config.case_insensitive_filters)
        page = paginate(
            matches,
            query,
            listing,
            self.state.cursors,
            query_signature(request.url.path, pairs),
            config.cursor_required_offset,
        )
        renderer = Renderer(self.store, Rendering.from_query(dict(request.query_params)))
        base_url = f"{request.url.scheme}://{request.url.netloc}{request.url.path.rstrip('/')}"
        headers = {
            "X-Total-Count": str(page.total),
            "Link": link_header(base_url, pairs, query.page, query.per_page, page.last_page),
        }
        return InvoicedJSONResponse([renderer.render(record) for record in page.records], headers=headers)

    def check_query(self, request: Request, route: RouteQuery | None) -> None:
        """ApiRouteRunner: a route that declares its query options refuses any other."""
        if route is not None and all(getattr(self.state.config, name) for name in route.switches):
            check_query(request.query_params.multi_items(), route.options)

    def _route(self, path: str, method: str, handler: Callable[..., Response]) -> None:
        self.router.add_api_route(path, handler, methods=[method])

    # Routes

    def _add_resource(self, resource: Resource) -> None:
        item_path = resource.path + "/{object_id}"
        session = self.store.session

        def load(request: Request, object_id: str) -> Any:
            return resource.get(parse_id(request, object_id, resource.listing.integer_ids))

        queries = resource.queries

        def list_records(request: Request) -> Response:
            self.check_query(request, queries.get("list"))
            with session():
                return self.page(request, resource.records(), resource.listing)

        def create(request: Request, body: JsonBody) -> Response:
            self.check_query(request, queries.get("create"))
            with session():
                return self.one(request, resource.create(body), 201)

        def retrieve(request: Request, object_id: str) -> Response:
            with session():
                return self.one(request, load(request, object_id))

        def update(request: Request, object_id: str, body: JsonBody) -> Response:
            self.check_query(request, queries.get("update"))
            with session():
                return self.one(request, resource.update(load(request, object_id).id, body))

        def delete(request: Request, object_id: str) -> Response:
            self.check_query(request, queries.get("delete"))
            with session():
                record = load(request, object_id)
                before = self.render(record, {})  # what the deleted event shows
                result = resource.delete(record.id)
                if result is not None:  # a payment's DELETE voids it: an update
                    return self.one(request, result)
                self.announce(record, "deleted", before)
                return Response(status_code=204)

        def accounting_sync_status(request: Request, object_id: str) -> Response:
            with session():
                record = load(request, object_id)
                return InvoicedJSONResponse(
                    sync_status(self.store, resource.sync_object or "", record.id, record.metadata)
                )

        self._route(resource.path, "GET", list_records)
        self._route(resource.path, "POST", create)
        self._route(item_path, "GET", retrieve)
        self._route(item_path, "PATCH", update)
        self._route(item_path, "DELETE", delete)
        if resource.sync_object is not None:
            self._route(item_path + "/accounting_sync_status", "GET", accounting_sync_status)

    def _add_contacts(self) -> None:
        """``/customers/:id/contacts``: a sub-resource, listed with the same parameters."""
        collection = "/customers/{customer_id}/contacts"
        item = collection + "/{contact_id}"
        session = self.store.session
        listing = Listing(CONTACT_FIELDS)

        def ids(request: Request, *raw: str) -> list[int]:
            return [parse_id(request, value, True) for value in raw]

        def list_contacts(request: Request, customer_id: str) -> Response:
            with session():
                (cid,) = ids(request, customer_id)
                get_customer(self.store, cid)
                contacts = [c for c in self.store.contacts.values() if c.customer_id == cid]
                return self.page(request, contacts, listing)

        def create(request: Request, customer_id: str, body: JsonBody) -> Response:
            with session():
                (cid,) = ids(request, customer_id)
                return self.one(request, create_contact(self.store, cid, body), 201)

        def retrieve(request: Request, customer_id: str, contact_id: str) -> Response:
            with session():
                return self.one(request, get_contact(self.store, *ids(request, customer_id, contact_id)))

        def update(request: Request, customer_id: str, contact_id: str, body: JsonBody) -> Response:
            with session():
                cid, contact = ids(request, customer_id, contact_id)
                return self.one(request, update_contact(self.store, cid, contact, body))

        def delete(request: Request, customer_id: str, contact_id: str) -> Response:
            with session():
                delete_contact(self.store, *ids(request, customer_id, contact_id))
                return Response(status_code=204)

        self._route(collection, "GET", list_contacts)
        self._route(collection, "POST", create)
        self._route(item, "GET", retrieve)
        self._route(item, "PATCH", update)
        self._route(item, "DELETE", delete)

    def _add_document_actions(self) -> None:
        session = self.store.session

        def void_invoice(request: Request, invoice_id: str) -> Response:
            with session():
                doc_id = parse_id(request, invoice_id, True)
                return self.one(request, void_document(self.store, INVOICES, doc_id))

        def void_credit_note(request: Request, credit_note_id: str) -> Response:
            with session():
                doc_id = parse_id(request, credit_note_id, True)
                return self.one(request, void_document(self.store, CREDIT_NOTES, doc_id))

        def bad_debt(request: Request, invoice_id: str) -> Response:
            with session():
                return self.one(request, write_off_invoice(self.store, parse_id(request, invoice_id, True)))

        self._route("/invoices/{invoice_id}/void", "POST", void_invoice)
        self._route("/credit_notes/{credit_note_id}/void", "POST", void_credit_note)
        def refund(request: Request, transaction_id: str, body: JsonBody) -> Response:
            with session():
                transaction = parse_id(request, transaction_id, True)
                return self.one(request, refund_transaction(self.store, transaction, body), 201)

        self._route("/invoices/{invoice_id}/bad_debt", "POST", bad_debt)
        self._route("/transactions/{transaction_id}/refunds", "POST", refund)


def build_api_router(state: SandboxState) -> APIRouter:
    return InvoicedApi(state).build()
