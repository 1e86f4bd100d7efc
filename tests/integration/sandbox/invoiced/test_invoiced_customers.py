"""Customers, contacts and the catalog (items, tax rates, coupons)."""

from __future__ import annotations

from typing import Any

from tests.integration.sandbox.invoiced.invoiced_client import InvoicedClient


def test_numbers_are_generated_and_unique(inv: InvoicedClient) -> None:
    first = inv.create("/customers", {"name": "One"})
    second = inv.create("/customers", {"name": "Two"})
    assert (first["number"], second["number"]) == ("CUST-00001", "CUST-00002")
    taken = inv.post("/customers", json={"name": "Three", "number": " cust-00001 "})
    assert taken.status_code == 400
    assert taken.json() == {
        "type": "invalid_request",
        "message": "The given customer number has already been taken:  cust-00001 ",
        "param": "number",
    }


def test_duplicate_names_are_allowed(inv: InvoicedClient) -> None:
    inv.create("/customers", {"name": "Same Name"})
    inv.create("/customers", {"name": "Same Name"})
    assert inv.get("/customers", params={"filter[name]": "Same Name"}).headers["X-Total-Count"] == "2"


def test_name_length_limits(inv: InvoicedClient) -> None:
    assert inv.post("/customers", json={"name": "x" * 256}).json()["param"] == "name"
    assert inv.create("/customers", {"name": "x" * 255})["name"] == "x" * 255


def test_customer_fields_and_patch(inv: InvoicedClient) -> None:
    created = inv.create(
        "/customers",
        {
            "name": "Full",
            "email": "a@b.example.com",
            "phone": "555",
            "address1": "1 Main",
            "city": "Austin",
            "state": "TX",
            "postal_code": "78701",
            "country": "US",
            "type": "person",
            "metadata": {"crm": "42"},
        },
    )
    assert created["object"] == "customer"
    assert (created["city"], created["type"], created["metadata"]) == ("Austin", "person", {"crm": "42"})
    updated = inv.patch(f"/customers/{created['id']}", json={"phone": "556", "name": "Renamed"}).json()
    assert (updated["phone"], updated["name"], updated["city"]) == ("556", "Renamed", "Austin")
    assert updated["updated_at"] > created["updated_at"]
    blocked = inv.patch(f"/customers/{created['id']}", json={"created_at": 1})
    assert blocked.json()["message"] == "Mass assignment of created_at on Customer is not allowed"


def test_metadata_limits(inv: InvoicedClient) -> None:
    too_many = inv.post("/customers", json={"name": "M", "metadata": {f"k{i}": "v" for i in range(11)}})
    assert (
        too_many.json()["message"] == "There can only be up to 10 metadata values. 11 values were provided."
    )


def test_customer_with_invoices_cannot_be_deleted(
    inv: InvoicedClient, make_invoice: Any, customer: Any
) -> None:
    make_invoice()
    response = inv.delete(f"/customers/{customer['id']}")
    assert response.status_code == 400
    assert response.json()["message"] == "Customers with transactions cannot be deleted"


def test_a_customer_keeps_its_currency_once_it_has_documents(
    inv: InvoicedClient, sandbox_state: Any, make_invoice: Any, customer: dict[str, Any]
) -> None:
    path = f"/customers/{customer['id']}"
    assert inv.patch(path, json={"currency": "EUR"}).json()["currency"] == "eur"  # no documents yet
    make_invoice()
    refused = inv.patch(path, json={"currency": "usd", "phone": "555"})
    assert (refused.status_code, refused.json()["param"]) == (400, "currency")
    assert inv.get(path).json()["phone"] is None  # nothing of the refused change is saved
    assert inv.patch(path, json={"currency": "eur", "phone": "555"}).status_code == 200  # the same one is no change
    unset = inv.create("/customers", {"name": "No Currency"})
    inv.create("/invoices", {"customer": unset["id"], "items": [{"name": "Service", "unit_cost": 5}]})
    assert inv.patch(f"/customers/{unset['id']}", json={"currency": "cad"}).json()["currency"] == "cad"
    sandbox_state.config.customer_currency_locked = False  # the vendored code's reading
    assert inv.patch(path, json={"currency": "usd"}).json()["currency"] == "usd"


def test_contacts_sub_resource(inv: InvoicedClient, customer: dict[str, Any]) -> None:
    base = f"/customers/{customer['id']}/contacts"
    contact = inv.create(base, {"name": "Jan", "email": "jan@acme.example.com", "primary": True})
    assert contact["object"] == "contact"
    assert [c["id"] for c in inv.get(base).json()] == [contact["id"]]
    assert inv.patch(f"{base}/{contact['id']}", json={"title": "AP"}).json()["title"] == "AP"
    assert inv.get(f"{base}/{contact['id']}").json()["email"] == "jan@acme.example.com"
    assert inv.delete(f"{base}/{contact['id']}").status_code == 204
    assert inv.get(f"{base}/{contact['id']}").json()["message"] == f"Contact was not found: {contact['id']}"
    assert inv.get("/customers/999/contacts").status_code == 404


def test_items_have_string_ids(inv: InvoicedClient) -> None:
    item = inv.create("/items", {"id": "delivery", "name": "Delivery", "unit_cost": 10})
    assert (item["id"], item["object"], item["unit_cost"], item["currency"]) == (
        "delivery",
        "item",
        10,
        "usd",
    )
    generated = inv.create("/items", {"name": "No id"})
    assert len(generated["id"]) == 6
    duplicate = inv.post("/items", json={"id": "delivery", "name": "Again"})
    assert duplicate.json() == {
        "type": "invalid_request",
        "message": "An item already exists with ID: delivery",
        "param": "id",
    }
    edited = inv.patch("/items/delivery", json={"name": "Shipping", "unit_cost": 99}).json()
    assert (edited["name"], edited["unit_cost"]) == ("Shipping", 10)
    assert inv.delete("/items/delivery").status_code == 204
    assert inv.get("/items/delivery").status_code == 404


def test_tax_rates_and_coupons(inv: InvoicedClient) -> None:
    rate = inv.create("/tax_rates", {"id": "vat", "name": "VAT", "value": 5})
    assert (rate["object"], rate["value"], rate["is_percent"], rate["inclusive"]) == (
        "tax_rate",
        5,
        True,
        False,
    )
    coupon = inv.create("/coupons", {"id": "off5", "name": "Five off", "value": 5, "is_percent": False})
    assert (coupon["object"], coupon["is_percent"]) == ("coupon", False)
    assert inv.post("/tax_rates", json={"name": "No value"}).json()["message"] == "Value is missing"
    assert [r["id"] for r in inv.get("/tax_rates").json()] == ["vat"]
