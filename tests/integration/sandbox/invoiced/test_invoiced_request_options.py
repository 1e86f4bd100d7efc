"""Strict request parsing where the service is strict, lenient where it is lenient.

BE ``ApiRouteRunner::validateInput`` runs the options a route declares through Symfony's
OptionsResolver (``ListCustomersRoute``, ``ListPaymentsRoute``, ``Create/EditPaymentRoute``,
``Create/EditCustomerRoute``, ``DeleteCustomerRoute``); routes declaring nothing
(``ListInvoicesRoute``, ``ListContactsRoute``, the retrieve routes) take anything.
"""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.invoiced.state import SandboxState
from tests.integration.sandbox.invoiced.invoiced_client import InvoicedClient

CUSTOMER_LIST_OPTIONS = (
    "'advanced_filter', 'automation', 'balance', 'exclude', 'expand', 'filter', 'include', "
    "'late_fee_schedule_id', 'metadata', 'open_balance', 'owner', 'page', 'paginate', 'payment_source', "
    "'per_page', 'sort', 'updated_after', 'updated_before'"
)
PAYMENT_LIST_OPTIONS = (
    "'advanced_filter', 'amount', 'automation', 'balance', 'end_date', 'exclude', 'expand', 'filter', "
    "'include', 'metadata', 'page', 'paginate', 'per_page', 'sort', 'start_date', 'updated_after', "
    "'updated_before'"
)


def refusal(message: str, param: str = "query") -> dict[str, str]:
    return {"type": "invalid_request", "message": message, "param": param}


@pytest.mark.parametrize("strict", [True, False])
def test_unknown_list_options_on_customers_and_payments(
    inv: InvoicedClient, sandbox_state: SandboxState, strict: bool
) -> None:
    sandbox_state.config.strict_query_options = strict
    customers = inv.get("/customers", params={"updated_since": 1})
    payments = inv.get("/payments", params={"updated_since": 1, "filter[method]": "check", "x[y]": "z"})
    if strict:
        assert (customers.status_code, customers.json()) == (400, refusal(
            f"The option 'updated_since' does not exist. Defined options are: {CUSTOMER_LIST_OPTIONS}."
        ))
        assert (payments.status_code, payments.json()) == (400, refusal(
            f"The options 'updated_since', 'x' do not exist. Defined options are: {PAYMENT_LIST_OPTIONS}."
        ))
    else:
        assert customers.status_code == payments.status_code == 200


def test_lists_and_reads_that_declare_nothing_ignore_extras(
    inv: InvoicedClient, customer: dict[str, Any], make_invoice: Any, pay: Any
) -> None:
    invoice = make_invoice()
    payment = pay({invoice["id"]: 10}).json()
    extra = {"updated_since": 1, "bogus[a]": "b"}
    for path in (
        "/invoices",
        f"/invoices/{invoice['id']}",
        f"/customers/{customer['id']}/contacts",
        f"/customers/{customer['id']}",
        f"/payments/{payment['id']}",
    ):
        assert inv.get(path, params=extra).status_code == 200, path


def test_the_clients_parameters_are_defined_options(
    inv: InvoicedClient, customer: dict[str, Any], make_invoice: Any, pay: Any
) -> None:
    """What the product and the official clients send: per_page, page, filter[...], metadata[...],
    sort, updated_after/before, include, expand, exclude (and the tap's include=updated_at)."""
    invoice = make_invoice()
    pay({invoice["id"]: 10}, metadata={"quickbooks_invoice_id": "145"})
    common = {"per_page": 100, "page": 1, "sort": "updated_at asc", "updated_after": 1, "updated_before": 2**31,
              "expand": "customer", "exclude": "metadata", "paginate": "offset"}
    customers = inv.get("/customers", params={**common, "filter[name]": "Acme Corp", "include": "updated_at"})
    assert (customers.status_code, len(customers.json())) == (200, 1)
    payments = inv.get("/payments", params={**common, "include": "applied_to",
                                            "metadata[quickbooks_invoice_id]": "145", "start_date": 1})
    assert (payments.status_code, len(payments.json())) == (200, 1)
    following = inv.get(payments.links["self"]["url"])  # a Link URL echoes only defined options
    assert following.status_code == 200


def test_query_option_types_and_values(inv: InvoicedClient) -> None:
    cases = {
        (("filter", "abc"),): "The option 'filter' with value 'abc' is expected to be of type 'array', but is of type 'string'.",
        (("sort[]", "id"),): "The option 'sort' with value array is expected to be of type 'string', but is of type 'array'.",
        (("start_date", "yesterday"),): (
            "The option 'start_date' with value 'yesterday' is expected to be of type 'numeric', but is of type 'string'."
        ),
        (("paginate", "all"),): "The option 'paginate' with value 'all' is invalid. Accepted values are: 'offset', 'none'.",
    }
    for params, message in cases.items():
        answer = inv.get("/payments", params=list(params))
        assert (answer.status_code, answer.json()) == (400, refusal(message)), params
    assert inv.get("/payments", params={"start_date": "1700000000"}).status_code == 200


def test_payment_writes_declare_their_query_options(inv: InvoicedClient, customer: dict[str, Any]) -> None:
    created = inv.post("/payments", json={"customer": customer["id"], "amount": 5}, params={"reconcile": 1})
    assert (created.status_code, created.json()) == (400, refusal(
        "The option 'reconcile' does not exist. Defined options are: 'exclude', 'expand', 'include'."
    ))
    payment = inv.create("/payments", {"customer": customer["id"], "amount": 5})
    path = f"/payments/{payment['id']}"
    assert inv.patch(path, json={"notes": "n"}, params={"reconcile": 1, "include": "applied_to"}).status_code == 200
    edited = inv.patch(path, json={"notes": "n"}, params={"foo": 1})
    assert edited.json()["message"] == (
        "The option 'foo' does not exist. Defined options are: 'exclude', 'expand', 'include', 'reconcile'."
    )
    assert inv.post("/payments", json={"customer": customer["id"], "amount": 5}, params={"include": "applied_to"}).status_code == 201


@pytest.mark.parametrize("strict", [True, False])
def test_customer_writes(inv: InvoicedClient, sandbox_state: SandboxState, customer: dict[str, Any], strict: bool) -> None:
    """The reference counts customer POST/PATCH among the strict routes; the code declares them
    with ``warn: true`` (log only). The stricter reading is the default."""
    sandbox_state.config.strict_customer_write_options = strict
    created = inv.post("/customers", json={"name": "Q"}, params={"foo": "1"})
    edited = inv.patch(f"/customers/{customer['id']}", json={"notes": "q"}, params={"foo": "1"})
    message = "The option 'foo' does not exist. Defined options are: 'exclude', 'expand', 'include'."
    if strict:
        assert (created.status_code, created.json()) == (400, refusal(message))
        assert (edited.status_code, edited.json()) == (400, refusal(message))
    else:
        assert (created.status_code, edited.status_code) == (201, 200)
    assert inv.post("/customers", json={"name": "Q"}, params={"expand": "x"}).status_code == 201


def test_customer_delete_declares_no_query_options(inv: InvoicedClient, customer: dict[str, Any]) -> None:
    answer = inv.delete(f"/customers/{customer['id']}", params={"force": 1})
    assert (answer.status_code, answer.json()) == (400, refusal(
        "The option 'force' does not exist. Defined options are: ''."
    ))
    assert inv.delete(f"/customers/{customer['id']}").status_code == 204


@pytest.mark.parametrize("strict", [True, False])
def test_payment_body_types(inv: InvoicedClient, sandbox_state: SandboxState, customer: dict[str, Any], strict: bool) -> None:
    sandbox_state.config.strict_payment_types = strict
    cid = customer["id"]
    wrong = {
        "customer": (str(cid), f"The option 'customer' with value '{cid}' is expected to be of type 'integer' or 'null', but is of type 'string'."),
        "date": ("1700000000", "The option 'date' with value '1700000000' is expected to be of type 'integer' or 'null', but is of type 'string'."),
        "reference": (1450, "The option 'reference' with value 1450 is expected to be of type 'string' or 'null', but is of type 'int'."),
        "accounting_id": (145, "The option 'accounting_id' with value 145 is expected to be of type 'string' or 'null', but is of type 'int'."),
    }
    for name, (value, message) in wrong.items():
        body = {"customer": cid, "amount": 5, name: value}
        if name == "accounting_id":
            body["accounting_system"] = "quickbooks_online"
        answer = inv.post("/payments", json=body)
        if strict:
            assert (answer.status_code, answer.json()) == (400, refusal(message, "request")), name
        else:
            assert answer.status_code == 201, answer.text
    amount = inv.post("/payments", json={"customer": cid, "amount": "five"})
    if strict:
        assert amount.json() == refusal(
            "The option 'amount' with value 'five' is expected to be of type 'numeric', but is of type 'string'.", "request"
        )
    else:
        assert amount.status_code == 400  # still not a number
    assert inv.post("/payments", json={"customer": cid, "amount": "12.50"}).status_code == 201  # numeric string
    payment = inv.create("/payments", {"customer": cid, "amount": 5})
    patched = inv.patch(f"/payments/{payment['id']}", json={"customer": str(cid)})
    assert patched.status_code == (400 if strict else 200)


def test_nulls_are_fine_for_optional_fields(inv: InvoicedClient, customer: dict[str, Any], make_invoice: Any) -> None:
    """MetadataTrait turns null metadata into {}; the Go client sends contact flags and payment
    fields as null."""
    assert inv.create("/customers", {"name": "N", "metadata": None})["metadata"] == {}
    assert make_invoice(metadata=None)["metadata"] == {}
    contact = inv.create(f"/customers/{customer['id']}/contacts", {"name": "Pat", "primary": None, "sms_enabled": None})
    assert (contact["primary"], contact["sms_enabled"]) == (False, False)
    edited = inv.patch(f"/customers/{customer['id']}/contacts/{contact['id']}", json={"primary": None})
    assert edited.json()["primary"] is False
    payment = inv.create("/payments", {
        "customer": customer["id"], "amount": 5, "metadata": None, "method": None, "date": None,
        "reference": None, "currency": None, "source": None, "notes": None, "applied_to": None,
        "attachments": None, "accounting_id": None, "accounting_system": None, "ach_sender_id": None,
    })
    assert (payment["metadata"], payment["method"], payment["source"]) == ({}, "other", "keyed")
    kept = inv.patch(f"/payments/{payment['id']}", json={"applied_to": None, "metadata": None})
    assert kept.status_code == 200
