"""The official Invoiced Python client (`invoiced` on PyPI) works against the sandbox unchanged:
CRUD of customers, contacts, invoices and payments, filtered and sorted lists, paging
through `Link`, idempotency keys and the error classes it maps status codes to. A failure
here is a sandbox bug unless a source says the service answers the same way.

Only the base URL is redirected: `Client` has no parameter for it, but every request is
built from its `api_url` attribute.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import invoiced
import pytest
from invoiced import errors

from tests.integration.sandbox.invoiced.invoiced_client import InvoicedClient


@pytest.fixture
def client(inv: InvoicedClient) -> invoiced.Client:
    sdk = invoiced.Client(inv.api_key)
    sdk.api_url = inv.base_url
    return sdk


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_customer_crud(client: invoiced.Client) -> None:
    customer = client.Customer.create(name="Acme Corp", email="ap@acme.example.com",
                                      metadata={"quickbooks_customer_id": "58"})
    assert (customer.object, customer.name, customer.number) == ("customer", "Acme Corp", "CUST-00001")
    fetched = client.Customer.retrieve(customer.id)
    assert fetched.metadata == {"quickbooks_customer_id": "58"}
    fetched.phone = "555-0100"
    fetched.notes = "via the SDK"
    assert fetched.save() is True
    assert (fetched.phone, fetched.updated_at >= customer.updated_at) == ("555-0100", True)
    assert fetched.save() is False  # nothing unsaved: the SDK sends no request
    assert client.Customer.retrieve(customer.id).notes == "via the SDK"
    assert fetched.delete() is True
    with pytest.raises(errors.InvalidRequestError) as missing:
        client.Customer.retrieve(customer.id)
    assert missing.value.status_code == 404
    assert str(missing.value) == f"(404): Customer was not found: {customer.id}"
    assert missing.value.error == {"type": "invalid_request", "message": f"Customer was not found: {customer.id}"}


def test_contacts_of_a_customer(client: invoiced.Client) -> None:
    customer = client.Customer.create(name="Globex")
    contacts = customer.contacts()
    pat = contacts.create(name="Pat Doe", email="pat@globex.example.com", primary=True, sms_enabled=None)
    assert (pat.object, pat.primary, pat.sms_enabled) == ("contact", True, False)
    contacts.create(name="Sam Roe")
    listed, meta = contacts.list()
    assert ([c.name for c in listed], meta.total_count) == (["Pat Doe", "Sam Roe"], 2)
    fetched = contacts.retrieve(pat.id)
    fetched.title = "Controller"
    assert fetched.save() is True
    assert contacts.retrieve(pat.id).title == "Controller"
    assert fetched.delete() is True
    assert [c.name for c in contacts.list()[0]] == ["Sam Roe"]


def test_invoice_crud_and_void(client: invoiced.Client) -> None:
    customer = client.Customer.create(name="Initech")
    invoice = client.Invoice.create(customer=customer.id, payment_terms="NET 30", sent=True,
                                    items=[{"name": "TPS reports", "quantity": 3, "unit_cost": 12.5}])
    assert (invoice.total, invoice.balance, invoice.status, invoice.number) == (37.5, 37.5, "sent", "INV-00001")
    invoice["notes"] = "Thank you"  # .notes is the SDK's notes() sub-resource
    invoice["items"] = [{"id": invoice["items"][0]["id"], "quantity": 4}]  # .items is dict.items
    assert invoice.save() is True
    assert (invoice.total, invoice["notes"]) == (50, "Thank you")
    listed, _ = client.Invoice.list(filter={"customer": customer.id}, include="amount_paid")
    assert [(i.id, i.amount_paid) for i in listed] == [(invoice.id, 0)]
    assert invoice.void() is True
    assert (invoice.status, invoice.balance) == ("voided", 0)
    draft = client.Invoice.create(customer=customer.id, draft=True, items=[{"unit_cost": 5}])
    assert draft.delete() is True
    with pytest.raises(errors.InvalidRequestError, match="Invoice was not found"):
        client.Invoice.retrieve(draft.id)


def test_payment_crud(client: invoiced.Client) -> None:
    customer = client.Customer.create(name="Hooli")
    invoice = client.Invoice.create(customer=customer.id, items=[{"unit_cost": 100}])
    payment = client.Payment.create(
        customer=customer.id, amount=60, method="check", reference="1450",
        applied_to=[{"type": "invoice", "invoice": invoice.id, "amount": 60}],
        metadata={"quickbooks_payment_id": "301"},
    )
    assert (payment.amount, payment.balance, payment.source, "applied_to" in payment) == (60, 0, "keyed", False)
    full = client.Payment.retrieve(payment.id, {"include": "applied_to"})
    assert [(s["type"], s["invoice"], s["amount"]) for s in full.applied_to] == [("invoice", invoice.id, 60)]
    assert client.Invoice.retrieve(invoice.id).balance == 40
    found, _ = client.Payment.list(metadata={"quickbooks_payment_id": "301"}, include="applied_to")
    assert [p.id for p in found] == [payment.id]
    full.notes = "deposited"
    assert full.save() is True
    assert full.notes == "deposited"
    assert full.delete() is True  # DELETE voids and answers the payment
    assert full.voided is True
    assert client.Invoice.retrieve(invoice.id).balance == 100


def test_lists_page_through_link_with_filters_and_sort(client: invoiced.Client) -> None:
    names = [f"Shop {n}" for n in range(7)]
    created = [client.Customer.create(name=name, type="person" if n % 2 else "company")
               for n, name in enumerate(names)]
    page, meta = client.Customer.list(per_page=3, sort="name desc")
    assert (len(page), meta.total_count) == (3, 7)
    assert set(meta.links) == {"self", "first", "next", "last"}
    seen = [c.name for c in page]
    while "next" in meta.links:
        page, meta = client.Customer.list(**query_of(meta.links["next"]))
        seen += [c.name for c in page]
    assert seen == sorted(names, reverse=True)
    assert "previous" in meta.links and query_of(meta.links["last"])["page"] == "3"
    people, meta = client.Customer.list(filter={"type": "person"}, sort="id desc")
    assert [c.id for c in people] == [c.id for c in created[1::2]][::-1]
    assert meta.total_count == 3
    first, meta = client.Customer.list(filter={"type": "person"}, per_page=2)
    rest, _ = client.Customer.list(**query_of(meta.links["next"]))  # the filter travels in the link
    assert [c.id for c in first + rest] == [c.id for c in created[1::2]]
    updated, _ = client.Customer.list(updated_after=created[0].updated_at - 1, per_page=100)
    assert len(updated) == 7


def test_idempotency_key(client: invoiced.Client) -> None:
    first = client.Customer.create(name="Once", idempotency_key="sdk-create-once")
    again = client.Customer.create(name="Once", idempotency_key="sdk-create-once")
    assert again.id == first.id
    assert client.Customer.list()[1].total_count == 1


def test_error_classes(client: invoiced.Client, inv: InvoicedClient) -> None:
    with pytest.raises(errors.InvalidRequestError) as bad_type:
        client.Payment.create(customer="1", amount=5)
    assert bad_type.value.status_code == 400
    assert bad_type.value.error["param"] == "request"
    assert "is expected to be of type 'integer' or 'null'" in bad_type.value.error["message"]
    with pytest.raises(errors.InvalidRequestError) as bad_option:
        client.Customer.list(updated_since=1)
    assert bad_option.value.error["param"] == "query"
    assert str(bad_option.value).startswith("(400): The option 'updated_since' does not exist.")
    with pytest.raises(errors.InvalidRequestError) as bad_filter:
        client.Invoice.list(filter={"bogus": 1})
    assert bad_filter.value.error["message"] == "Invalid filter parameter: bogus"

    stranger = invoiced.Client("not-the-key")
    stranger.api_url = inv.base_url
    with pytest.raises(errors.AuthenticationError) as unauthorized:
        stranger.Customer.list()
    assert unauthorized.value.status_code == 401
    assert unauthorized.value.error["message"].startswith("We could not authenticate you with the API Key: ")

    limited: Any = {"probability": 1.0, "kinds": ["429"], "limit": 1}
    inv.control("faults", limited)
    with pytest.raises(errors.RateLimitError) as throttled:
        client.Customer.list()
    assert (throttled.value.status_code, throttled.value.error["type"]) == (429, "rate_limit_error")
    inv.control("faults", {**limited, "kinds": ["500"]})
    with pytest.raises(errors.ApiError) as failed:
        client.Customer.create(name="Never")
    assert (failed.value.status_code, failed.value.error["type"]) == (500, "api_error")
    assert client.Customer.list()[1].total_count == 0
