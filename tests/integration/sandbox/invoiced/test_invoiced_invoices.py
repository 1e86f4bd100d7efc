"""Invoices: totals, numbering, status, read-only rules, line replacement, void and delete."""

from __future__ import annotations

from typing import Any

from tests.integration.sandbox.invoiced.invoiced_client import InvoicedClient

DAY = 86400


def test_line_amounts_round_to_cents_and_totals_add_up(inv: InvoicedClient, customer: dict[str, Any]) -> None:
    invoice = inv.create(
        "/invoices",
        {
            "customer": customer["id"],
            "items": [
                {"name": "Copy paper", "quantity": 3, "unit_cost": 10.005},
                {"name": "Delivery", "unit_cost": 10},
            ],
            "taxes": [{"amount": 3.85}],
        },
    )
    assert [line["amount"] for line in invoice["items"]] == [30.02, 10]
    assert (invoice["subtotal"], invoice["total"], invoice["balance"]) == (40.02, 43.87, 43.87)
    assert invoice["items"][1]["quantity"] == 1
    assert (invoice["currency"], invoice["name"], invoice["draft"], invoice["status"]) == (
        "usd",
        "Invoice",
        False,
        "not_sent",
    )


def test_discounts_and_taxes_follow_the_service_order(inv: InvoicedClient, customer: dict[str, Any]) -> None:
    inv.create("/tax_rates", {"id": "vat", "name": "VAT", "value": 10})
    inv.create("/coupons", {"id": "ten", "name": "10%", "value": 10})
    invoice = inv.create(
        "/invoices",
        {
            "customer": customer["id"],
            "items": [
                {"name": "Taxed", "unit_cost": 100, "discounts": [{"amount": 10}]},
                {"name": "Not discountable", "unit_cost": 50, "discountable": False},
                {"name": "Not taxable", "unit_cost": 40, "taxable": False},
            ],
            "discounts": [{"coupon": "ten"}, "missing-coupon"],
            "taxes": ["vat"],
        },
    )
    # Lines net of line discounts: 90 + 50 + 40 = 180; coupon on 180 - 50 = 130 -> 13.
    # Tax base: 180 - 13 - 40 = 127 -> 12.70.  Total: 190 - 10 - 13 + 12.70 = 179.70.
    assert invoice["subtotal"] == 190
    assert [d["amount"] for d in invoice["discounts"]] == [13]
    assert invoice["discounts"][0]["coupon"]["id"] == "ten"
    assert invoice["taxes"][0]["tax_rate"]["id"] == "vat"
    assert invoice["taxes"][0]["amount"] == 12.7
    assert invoice["total"] == 179.7


def test_flat_tax_and_discount_scalars(inv: InvoicedClient, make_invoice: Any) -> None:
    invoice = make_invoice(100, tax=7.5, discount=2.5)
    assert (invoice["taxes"][0]["amount"], invoice["discounts"][0]["amount"], invoice["total"]) == (
        7.5,
        2.5,
        105,
    )


def test_inclusive_tax_marks_down_the_subtotal(inv: InvoicedClient, make_invoice: Any) -> None:
    inv.create("/tax_rates", {"id": "gst", "name": "GST", "value": 10, "inclusive": True})
    invoice = make_invoice(110, taxes=["gst"])
    assert (invoice["subtotal"], invoice["taxes"][0]["amount"], invoice["total"]) == (100, 10, 110)


def test_same_rate_on_line_and_subtotal_is_refused(
    inv: InvoicedClient, make_invoice: Any, customer: Any
) -> None:
    inv.create("/tax_rates", {"id": "vat", "name": "VAT", "value": 10})
    response = inv.post(
        "/invoices",
        json={"customer": customer["id"], "items": [{"unit_cost": 10, "taxes": ["vat"]}], "taxes": ["vat"]},
    )
    assert response.status_code == 400
    assert "tax rate (ID: vat) is being applied to a line item and the subtotal" in response.json()["message"]


def test_catalog_items_fill_lines(inv: InvoicedClient, customer: dict[str, Any]) -> None:
    inv.create("/items", {"id": "delivery", "name": "Delivery", "unit_cost": 10, "type": "service"})
    invoice = inv.create(
        "/invoices", {"customer": customer["id"], "items": [{"catalog_item": "delivery", "quantity": 2}]}
    )
    line = invoice["items"][0]
    assert (line["catalog_item"], line["name"], line["unit_cost"], line["amount"], line["type"]) == (
        "delivery",
        "Delivery",
        10,
        20,
        "service",
    )
    missing = inv.post("/invoices", json={"customer": customer["id"], "items": [{"catalog_item": "nope"}]})
    assert missing.json()["message"] == "No such item: nope"


def test_numbers_auto_unique_and_limited(inv: InvoicedClient, make_invoice: Any, customer: Any) -> None:
    assert make_invoice()["number"] == "INV-00001"
    assert make_invoice(number="INV-LONG-REFERENCE-0000001-X")["number"] == "INV-LONG-REFERENCE-0000001-X"
    duplicate = inv.post("/invoices", json={"customer": customer["id"], "number": " inv-00001"})
    assert duplicate.json() == {
        "type": "invalid_request",
        "message": "The given invoice number has already been taken:  inv-00001",
        "param": "number",
    }
    too_long = inv.post("/invoices", json={"customer": customer["id"], "number": "x" * 33})
    assert too_long.json()["message"] == "Number must be a string of the proper length"
    assert make_invoice()["number"] == "INV-00002"


def test_customer_is_required_and_must_exist(inv: InvoicedClient) -> None:
    assert inv.post("/invoices", json={}).json() == {
        "type": "invalid_request",
        "message": "Customer missing",
        "param": "customer",
    }
    assert inv.post("/invoices", json={"customer": 77}).json()["message"] == "No such customer: 77"


def test_mass_assignment_is_refused(inv: InvoicedClient, customer: dict[str, Any]) -> None:
    for field in ("total", "balance", "status", "paid", "amount_paid", "date_bad_debt"):
        response = inv.post("/invoices", json={"customer": customer["id"], field: 1})
        assert response.status_code == 400
        assert response.json()["message"] == f"Mass assignment of {field} on Invoice is not allowed"


def test_due_date_from_terms(inv: InvoicedClient, make_invoice: Any) -> None:
    invoice = make_invoice(date=1_700_000_000, payment_terms="NET 30")
    assert invoice["due_date"] == 1_700_000_000 + 30 * DAY
    moved = inv.patch(f"/invoices/{invoice['id']}", json={"payment_terms": "NET 15"}).json()
    assert moved["due_date"] == 1_700_000_000 + 15 * DAY
    assert make_invoice(payment_terms="Due on receipt")["due_date"] is None


def test_status_algorithm(inv: InvoicedClient, make_invoice: Any, pay: Any) -> None:
    assert make_invoice(draft=True)["status"] == "draft"
    assert make_invoice()["status"] == "not_sent"
    sent = make_invoice(sent=True, payment_terms="NET 30")
    assert sent["status"] == "sent"
    assert make_invoice(due_date=1_000)["status"] == "past_due"
    inv.control("clock", {"advance_seconds": 31 * DAY})
    assert inv.get(f"/invoices/{sent['id']}").json()["status"] == "past_due"
    paid = make_invoice(50)
    pay({paid["id"]: 50})
    after = inv.get(f"/invoices/{paid['id']}", params={"include": "date_paid"}).json()
    assert (after["status"], after["paid"], after["closed"], after["balance"]) == ("paid", True, True, 0)
    assert after["date_paid"] is not None


def test_zero_invoice_is_paid_and_closed_on_create(make_invoice: Any) -> None:
    invoice = make_invoice(0)
    assert (invoice["paid"], invoice["closed"], invoice["status"]) == (True, True, "paid")


def test_closing_unpaid_keeps_a_normal_status(inv: InvoicedClient, make_invoice: Any) -> None:
    invoice = make_invoice(due_date=1_000)
    closed = inv.patch(f"/invoices/{invoice['id']}", json={"closed": True}).json()
    assert (closed["closed"], closed["paid"], closed["status"], closed["balance"]) == (
        True,
        False,
        "past_due",
        100,
    )


def test_closed_documents_are_read_only_until_reopened(inv: InvoicedClient, make_invoice: Any) -> None:
    invoice = make_invoice()
    inv.patch(f"/invoices/{invoice['id']}", json={"closed": True})
    refused = inv.patch(f"/invoices/{invoice['id']}", json={"notes": "late"})
    assert refused.status_code == 400
    assert refused.json() == {
        "type": "invalid_request",
        "message": "Your changes cannot be saved because this document is closed. "
        "Please re-open the document to make any changes.",
        "param": "closed",
    }
    reopened = inv.patch(f"/invoices/{invoice['id']}", json={"closed": False, "notes": "late"}).json()
    assert (reopened["closed"], reopened["notes"]) == (False, "late")


def test_issued_invoice_cannot_become_draft(inv: InvoicedClient, make_invoice: Any) -> None:
    invoice = make_invoice()
    response = inv.patch(f"/invoices/{invoice['id']}", json={"draft": True})
    assert response.json() == {
        "type": "invalid_request",
        "message": "Cannot save as a draft because the document has already been issued.",
        "param": "draft",
    }
    draft = make_invoice(draft=True)
    assert inv.patch(f"/invoices/{draft['id']}", json={"draft": False}).json()["status"] == "not_sent"


def test_patch_items_replaces_the_line_set(inv: InvoicedClient, customer: dict[str, Any]) -> None:
    invoice = inv.create(
        "/invoices",
        {
            "customer": customer["id"],
            "items": [{"name": "Keep", "unit_cost": 10}, {"name": "Drop", "unit_cost": 5}],
        },
    )
    keep = invoice["items"][0]
    updated = inv.patch(
        f"/invoices/{invoice['id']}",
        json={"items": [{"id": keep["id"], "quantity": 3}, {"name": "New", "unit_cost": 1}]},
    ).json()
    assert [(line["name"], line["amount"]) for line in updated["items"]] == [("Keep", 30), ("New", 1)]
    assert updated["items"][0]["id"] == keep["id"]
    assert updated["total"] == 31
    unknown = inv.patch(f"/invoices/{invoice['id']}", json={"items": [{"id": 999999, "unit_cost": 1}]})
    assert unknown.json() == {
        "type": "invalid_request",
        "message": "Referenced line item that does not exist: 999999",
        "param": "items",
    }
    assert inv.get(f"/invoices/{invoice['id']}").json()["total"] == 31


def test_customer_cannot_change(inv: InvoicedClient, make_invoice: Any) -> None:
    other = inv.create("/customers", {"name": "Other"})
    response = inv.patch(f"/invoices/{make_invoice()['id']}", json={"customer": other["id"]})
    assert (
        response.json()["message"] == "Invalid request parameter `customer`. The customer cannot be modified."
    )


def test_void_rules(inv: InvoicedClient, make_invoice: Any, pay: Any) -> None:
    invoice = make_invoice()
    voided = inv.post(f"/invoices/{invoice['id']}/void").json()
    assert (voided["status"], voided["balance"]) == ("voided", 0)
    assert "voided" not in voided
    assert inv.get(f"/invoices/{invoice['id']}", params={"include": "voided"}).json()["voided"] is True
    again = inv.post(f"/invoices/{invoice['id']}/void")
    assert again.json()["message"] == "This document has already been voided."
    edit = inv.patch(f"/invoices/{invoice['id']}", json={"notes": "x"})
    assert edit.json()["message"] == "Your changes cannot be saved because this document is voided."
    paid = make_invoice()
    pay({paid["id"]: 10})
    refused = inv.post(f"/invoices/{paid['id']}/void")
    assert refused.status_code == 400
    assert refused.json()["message"] == "This invoice cannot be voided because it has a payment applied."


def test_delete_only_without_applied_money(inv: InvoicedClient, make_invoice: Any, pay: Any) -> None:
    draft = make_invoice(draft=True)
    assert inv.delete(f"/invoices/{draft['id']}").status_code == 204
    assert inv.get(f"/invoices/{draft['id']}").status_code == 404
    issued = make_invoice(number="REUSE-1")
    assert inv.delete(f"/invoices/{issued['id']}").status_code == 204
    assert make_invoice(number="REUSE-1")["number"] == "REUSE-1"
    paid = make_invoice()
    pay({paid["id"]: 1})
    refused = inv.delete(f"/invoices/{paid['id']}")
    assert refused.json() == {
        "type": "invalid_request",
        "message": "This invoice cannot be voided because it has a payment applied.",
        "param": "voided",
    }


def test_currency_defaults_to_customer_then_company(inv: InvoicedClient) -> None:
    euro = inv.create("/customers", {"name": "Euro", "currency": "EUR"})
    invoice = inv.create("/invoices", {"customer": euro["id"], "items": [{"unit_cost": 1}]})
    assert invoice["currency"] == "eur"
    assert inv.create("/invoices", {"customer": euro["id"], "currency": "CAD"})["currency"] == "cad"


def test_credit_notes_share_the_document_shape(inv: InvoicedClient, customer: dict[str, Any]) -> None:
    note = inv.create(
        "/credit_notes", {"customer": customer["id"], "items": [{"name": "Refund", "unit_cost": 20}]}
    )
    assert (note["object"], note["number"], note["status"], note["balance"]) == (
        "credit_note",
        "CN-00001",
        "open",
        20,
    )
    voided = inv.post(f"/credit_notes/{note['id']}/void").json()
    assert voided["status"] == "voided"
    blocked = inv.post("/credit_notes", json={"customer": customer["id"], "paid": True})
    assert blocked.json()["message"] == "Mass assignment of paid on CreditNote is not allowed"


def test_form_encoded_bodies_nest_brackets(inv: InvoicedClient, customer: dict[str, Any]) -> None:
    form = {
        "customer": str(customer["id"]),
        "items[0][name]": "Copy paper",
        "items[0][quantity]": "2",
        "items[0][unit_cost]": "45",
        "items[1][name]": "Delivery",
        "items[1][unit_cost]": "10",
        "taxes[0][amount]": "3.85",
        "draft": "1",
    }
    invoice = inv.post("/invoices", data=form).json()
    assert [line["name"] for line in invoice["items"]] == ["Copy paper", "Delivery"]
    assert (invoice["total"], invoice["draft"]) == (103.85, True)
