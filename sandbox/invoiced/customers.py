"""Customers and their contacts.

Duplicate names are allowed (Invoiced allows them, QuickBooks does not); numbers are
unique and auto-assigned as ``CUST-00001`` when omitted.
"""

from __future__ import annotations

from typing import Any

from sandbox.invoiced.accounting import ACCOUNTING_FIELDS, forget_mark, parse_mark, record_mark
from sandbox.invoiced.errors import invalid, not_found
from sandbox.invoiced.models import (
    ContactInput,
    CustomerInput,
    copy_sent_fields,
    parse_input,
    reject_blocked,
    require,
)
from sandbox.invoiced.records import Contact, Customer
from sandbox.invoiced.store import Store

CUSTOMER_BLOCKED = frozenset(
    {
        "client_id",
        "client_id_exp",
        "credit_balance",
        "object",
        "statement_pdf_url",
        "sign_up_url",
        "created_at",
        "updated_at",
    }
)
CUSTOMER_FIELDS = frozenset(CustomerInput.model_fields) - ACCOUNTING_FIELDS - {"number"}
CONTACT_FIELDS = frozenset(ContactInput.model_fields)


def get_customer(store: Store, customer_id: int) -> Customer:
    customer = store.customers.get(customer_id)
    if customer is None:
        raise not_found("Customer", customer_id)
    return customer


def _check_parent(store: Store, data: CustomerInput, customer_id: int | None) -> None:
    parent = data.parent_customer
    if "parent_customer" not in data.model_fields_set or parent is None:
        return
    if parent not in store.customers:
        raise invalid(f"No such customer: {parent}", "parent_customer")
    if parent == customer_id:
        raise invalid("Cannot set parent customer as self.", "parent_customer")


def create_customer(store: Store, payload: dict[str, Any]) -> Customer:
    reject_blocked(payload, CUSTOMER_BLOCKED, "Customer")
    data = parse_input(CustomerInput, payload)
    require(data, "name")
    mark = parse_mark(data)
    _check_parent(store, data, None)
    number = data.number if "number" in data.model_fields_set else store.next_number("customer")
    store.ensure_number_free("customer", number)
    customer_id = store.next_id("customer")
    now = store.now()
    customer = Customer(
        id=customer_id,
        name=data.name,
        number=number,
        created_at=now,
        updated_at=now,
        country=store.settings.company_country,
    )
    copy_sent_fields(data, customer, CUSTOMER_FIELDS)
    store.claim_number("customer", number, customer_id)
    store.customers[customer_id] = customer
    record_mark(store, "customer", customer_id, mark)
    return customer


def _check_currency(store: Store, customer: Customer, data: CustomerInput) -> None:
    """Our assumption (sandbox/README.md): a set currency stays once the customer has
    documents; setting one it lacks is allowed (the service does it itself)."""
    changed = "currency" in data.model_fields_set and customer.currency and data.currency != customer.currency
    if changed and store.settings.customer_currency_locked and _has_documents(store, customer.id):
        raise invalid("The currency cannot be changed because this customer has invoices or credit notes.",
                      "currency")


def update_customer(store: Store, customer_id: int, payload: dict[str, Any]) -> Customer:
    customer = get_customer(store, customer_id)
    reject_blocked(payload, CUSTOMER_BLOCKED, "Customer")
    data = parse_input(CustomerInput, payload)
    mark = parse_mark(data)
    _check_parent(store, data, customer_id)
    _check_currency(store, customer, data)
    if "number" in data.model_fields_set and data.number != customer.number:
        store.claim_number("customer", data.number, customer_id)
        store.release_number("customer", customer.number)
        customer.number = data.number
    copy_sent_fields(data, customer, CUSTOMER_FIELDS)
    if data.model_fields_set - ACCOUNTING_FIELDS or store.settings.mark_only_patch_is_edit:
        store.touch(customer)
    record_mark(store, "customer", customer_id, mark)
    return customer


def _has_transactions(store: Store, customer_id: int) -> bool:
    return _owns_any(customer_id, store.invoices, store.credit_notes, store.payments)


def _has_documents(store: Store, customer_id: int) -> bool:
    return _owns_any(customer_id, store.invoices, store.credit_notes)


def _owns_any(customer_id: int, *tables: Any) -> bool:
    return any(
        any(getattr(record, "customer_id", None) == customer_id for record in table.values())
        for table in tables
    )


def delete_customer(store: Store, customer_id: int) -> None:
    customer = get_customer(store, customer_id)
    if _has_transactions(store, customer_id):
        raise invalid("Customers with transactions cannot be deleted")
    for contact_id in [c.id for c in store.contacts.values() if c.customer_id == customer_id]:
        del store.contacts[contact_id]
    store.release_number("customer", customer.number)
    del store.customers[customer_id]
    forget_mark(store, "customer", customer_id)


def get_contact(store: Store, customer_id: int, contact_id: int) -> Contact:
    get_customer(store, customer_id)
    contact = store.contacts.get(contact_id)
    if contact is None or contact.customer_id != customer_id:
        raise not_found("Contact", contact_id)
    return contact


def create_contact(store: Store, customer_id: int, payload: dict[str, Any]) -> Contact:
    get_customer(store, customer_id)
    data = parse_input(ContactInput, payload)
    require(data, "name")
    now = store.now()
    contact = Contact(
        id=store.next_id("contact"), customer_id=customer_id, name=data.name, created_at=now, updated_at=now
    )
    copy_sent_fields(data, contact, CONTACT_FIELDS)
    store.contacts[contact.id] = contact
    return contact


def update_contact(store: Store, customer_id: int, contact_id: int, payload: dict[str, Any]) -> Contact:
    contact = get_contact(store, customer_id, contact_id)
    data = parse_input(ContactInput, payload)
    copy_sent_fields(data, contact, CONTACT_FIELDS)
    store.touch(contact)
    return contact


def delete_contact(store: Store, customer_id: int, contact_id: int) -> None:
    get_contact(store, customer_id, contact_id)
    del store.contacts[contact_id]
