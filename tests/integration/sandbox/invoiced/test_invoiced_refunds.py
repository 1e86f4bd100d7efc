"""Refunds (legacy Transaction API): of a payment's application and of a credit note."""

from __future__ import annotations

from typing import Any

from tests.integration.sandbox.invoiced.invoiced_client import InvoicedClient


def _split_id(inv: InvoicedClient, payment_id: int) -> int:
    payment = inv.get(f"/payments/{payment_id}", params={"include": "applied_to"}).json()
    return int(payment["applied_to"][0]["id"])


def test_refund_of_a_payment_is_a_refund_transaction_and_leaves_the_invoice_paid(
    inv: InvoicedClient, make_invoice: Any, pay: Any, customer: dict[str, Any]
) -> None:
    invoice = make_invoice(100)
    payment = pay({invoice["id"]: 100}, method="check").json()
    split = _split_id(inv, payment["id"])
    response = inv.post(f"/transactions/{split}/refunds", json={"amount": 40.5})
    assert response.status_code == 201
    refund = response.json()
    assert {k: refund[k] for k in ("object", "type", "amount", "parent_transaction", "payment", "invoice",
                                   "customer", "method", "status")} == {
        "object": "transaction", "type": "refund", "amount": 40.5, "parent_transaction": split,
        "payment": payment["id"], "invoice": invoice["id"], "customer": customer["id"], "method": "check",
        "status": "succeeded",
    }
    assert inv.get(f"/invoices/{invoice['id']}").json()["status"] == "paid"
    listed = inv.get("/transactions", params={"filter[type]": "refund"}).json()
    assert [t["id"] for t in listed] == [refund["id"]]
    assert inv.get(f"/transactions/{refund['id']}").json() == refund
    later = inv.get("/transactions", params={"updated_after": refund["updated_at"]}).json()
    assert later == []


def test_a_payment_is_refunded_at_most_its_amount_and_a_refunded_payment_cannot_be_voided(
    inv: InvoicedClient, make_invoice: Any, pay: Any
) -> None:
    invoice = make_invoice(100)
    payment = pay({invoice["id"]: 100}).json()
    split = _split_id(inv, payment["id"])
    assert inv.post(f"/transactions/{split}/refunds", json={"amount": 60}).status_code == 201
    too_much = inv.post(f"/transactions/{split}/refunds", json={"amount": 40.01})
    assert too_much.status_code == 400 and "cannot exceed" in too_much.json()["message"]
    assert inv.post(f"/transactions/{split}/refunds", json={"amount": 0}).status_code == 400
    assert inv.post("/transactions/999999/refunds", json={"amount": 1}).status_code == 404
    voided = inv.delete(f"/payments/{payment['id']}")
    assert voided.status_code == 400 and "refunded" in voided.json()["message"]


def test_refund_of_a_credit_note_pays_its_balance_out(inv: InvoicedClient, customer: dict[str, Any]) -> None:
    note = inv.create("/credit_notes", {"customer": customer["id"], "items": [{"name": "Return", "unit_cost": 80}]})
    body = {"type": "refund", "credit_note": note["id"], "amount": 30, "method": "check"}
    refund = inv.post("/transactions", json=body)
    assert refund.status_code == 201 and refund.json()["credit_note"] == note["id"]
    after = inv.get(f"/credit_notes/{note['id']}", params={"include": "amount_refunded"}).json()
    assert (after["balance"], after["amount_refunded"], after["status"]) == (50, 30, "open")
    assert inv.post("/transactions", json={**body, "amount": 50.01}).status_code == 400
    assert inv.post("/transactions", json={**body, "type": "payment"}).status_code == 400
    assert inv.post(f"/credit_notes/{note['id']}/void").status_code == 400
    assert inv.delete(f"/transactions/{refund.json()['id']}").status_code == 204
    assert inv.get(f"/credit_notes/{note['id']}").json()["balance"] == 80
