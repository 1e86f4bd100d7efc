"""Payments: application to invoices and credit notes, over-application, re-application, void."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.invoiced.state import SandboxState
from tests.integration.sandbox.invoiced.invoiced_client import InvoicedClient

PAID_FIELDS = {"include": "amount_paid,amount_credited,date_paid"}


def invoice_state(inv: InvoicedClient, invoice_id: int) -> dict[str, Any]:
    state: dict[str, Any] = inv.get(f"/invoices/{invoice_id}", params=PAID_FIELDS).json()
    return state


def test_partial_then_full_payment(inv: InvoicedClient, make_invoice: Any, pay: Any) -> None:
    invoice = make_invoice(100, due_date=1_000)
    first = pay({invoice["id"]: 40}, method="check", reference="1450", date=1_600_000_000)
    assert first.status_code == 201
    payment = first.json()
    assert (payment["amount"], payment["balance"], payment["method"], payment["source"]) == (
        40,
        0,
        "check",
        "keyed",
    )
    assert "applied_to" not in payment
    partly = invoice_state(inv, invoice["id"])
    assert (partly["balance"], partly["amount_paid"], partly["paid"], partly["status"]) == (
        60,
        40,
        False,
        "past_due",
    )
    pay({invoice["id"]: 60}, date=1_600_100_000)
    paid = invoice_state(inv, invoice["id"])
    assert (paid["balance"], paid["paid"], paid["closed"], paid["status"]) == (0, True, True, "paid")
    assert paid["date_paid"] == 1_600_100_000
    assert paid["updated_at"] > invoice["updated_at"]


def test_applied_to_only_with_include(inv: InvoicedClient, make_invoice: Any, pay: Any) -> None:
    invoice = make_invoice()
    payment = pay({invoice["id"]: 100}).json()
    shown = inv.get(f"/payments/{payment['id']}", params={"include": "applied_to"}).json()
    (split,) = shown["applied_to"]
    assert (split["type"], split["amount"], split["invoice"]) == ("invoice", 100, invoice["id"])
    listed = inv.get("/payments", params={"include": "applied_to"}).json()
    assert listed[0]["applied_to"] == shown["applied_to"]


def test_one_payment_split_across_invoices_with_remainder(
    inv: InvoicedClient, make_invoice: Any, pay: Any
) -> None:
    first, second = make_invoice(30), make_invoice(50)
    payment = pay({first["id"]: 30, second["id"]: 20}, amount=100).json()
    assert payment["balance"] == 50
    assert invoice_state(inv, first["id"])["status"] == "paid"
    assert invoice_state(inv, second["id"])["balance"] == 30


def test_over_application_is_refused_without_side_effects(
    inv: InvoicedClient, make_invoice: Any, pay: Any
) -> None:
    invoice = make_invoice(200)
    response = pay({invoice["id"]: 150}, amount=100)
    assert response.status_code == 400
    assert response.json() == {
        "type": "invalid_request",
        "message": "An error occurred while trying to apply payment: "
        "Total amount applied (150 USD) cannot exceed the payment amount (100 USD)",
        "param": "applied_to",
    }
    assert invoice_state(inv, invoice["id"])["balance"] == 200
    assert inv.get("/payments").json() == []
    too_much = pay({invoice["id"]: 250})
    assert "exceeds its balance (200 USD)" in too_much.json()["message"]


def test_application_errors(inv: InvoicedClient, make_invoice: Any, pay: Any, customer: Any) -> None:
    assert "Could not find invoice: 999" in pay({999: 5}).json()["message"]
    invoice = make_invoice()
    zero = pay({invoice["id"]: 0}, amount=5)
    assert zero.json()["message"].endswith(
        "Amount applied to document must be greater than 0. Provided: 0 USD"
    )
    other = inv.create("/customers", {"name": "Other"})
    foreign = inv.post(
        "/payments",
        json={
            "customer": other["id"],
            "amount": 5,
            "applied_to": [{"type": "invoice", "invoice": invoice["id"], "amount": 5}],
        },
    )
    assert (
        "does not belong to the customer that was selected to apply payments for: CUST-00002"
        in foreign.json()["message"]
    )
    unknown = inv.post("/payments", json={"amount": 5, "bogus": 1})
    assert unknown.json()["param"] == "request"
    assert unknown.json()["message"].startswith("The option 'bogus' does not exist. Defined options are: ")
    assert inv.post("/payments", json={}).json()["message"] == "The required option 'amount' is missing."


def test_closed_and_voided_invoices_take_no_payments(
    inv: InvoicedClient, make_invoice: Any, pay: Any, sandbox_state: SandboxState
) -> None:
    closed = make_invoice()
    inv.patch(f"/invoices/{closed['id']}", json={"closed": True})
    refused = pay({closed["id"]: 10})
    assert refused.status_code == 400
    assert (
        "Could not apply payment to invoice: Your changes cannot be saved because this document is closed."
        in (refused.json()["message"])
    )
    voided = make_invoice()
    inv.post(f"/invoices/{voided['id']}/void")
    assert "this document is voided" in pay({voided["id"]: 10}).json()["message"]
    sandbox_state.config.allow_payments_on_closed = True
    assert pay({closed["id"]: 10}).status_code == 201


def test_payment_to_draft_issues_it(inv: InvoicedClient, make_invoice: Any, pay: Any) -> None:
    draft = make_invoice(draft=True)
    pay({draft["id"]: 10})
    assert invoice_state(inv, draft["id"])["draft"] is False


def test_void_payment_reopens_invoices(inv: InvoicedClient, make_invoice: Any, pay: Any) -> None:
    invoice = make_invoice()
    payment = pay({invoice["id"]: 100}).json()
    before = invoice_state(inv, invoice["id"])
    voided = inv.delete(f"/payments/{payment['id']}")
    assert voided.status_code == 200
    body = inv.get(f"/payments/{payment['id']}", params={"include": "applied_to"}).json()
    assert (body["voided"], body["balance"], body["applied_to"]) == (True, 100, [])
    reopened = invoice_state(inv, invoice["id"])
    assert (reopened["paid"], reopened["closed"], reopened["balance"], reopened["status"]) == (
        False,
        False,
        100,
        "not_sent",
    )
    assert reopened["date_paid"] is None
    assert reopened["updated_at"] > before["updated_at"]
    assert (
        inv.delete(f"/payments/{payment['id']}").json()["message"] == "This payment has already been voided."
    )
    assert inv.patch(f"/payments/{payment['id']}", json={"notes": "x"}).json()["message"] == (
        "The payment is voided and cannot be edited."
    )


def test_patch_reapplies(inv: InvoicedClient, make_invoice: Any, pay: Any) -> None:
    first, second = make_invoice(100), make_invoice(100)
    payment = pay({first["id"]: 100}).json()
    moved = inv.patch(
        f"/payments/{payment['id']}",
        json={"applied_to": [{"type": "invoice", "invoice": second["id"], "amount": 60}], "reference": "R-2"},
        params={"include": "applied_to"},
    ).json()
    assert (moved["reference"], moved["balance"]) == ("R-2", 40)
    assert [(s["invoice"], s["amount"]) for s in moved["applied_to"]] == [(second["id"], 60)]
    assert invoice_state(inv, first["id"])["balance"] == 100
    assert invoice_state(inv, second["id"])["balance"] == 40
    split_id = moved["applied_to"][0]["id"]
    raised = inv.patch(
        f"/payments/{payment['id']}",
        json={"applied_to": [{"id": split_id, "amount": 100}]},
        params={"include": "applied_to"},
    ).json()
    assert raised["applied_to"][0]["id"] == split_id
    assert invoice_state(inv, second["id"])["status"] == "paid"
    lowered = inv.patch(f"/payments/{payment['id']}", json={"amount": 50})
    assert lowered.json()["message"] == "The amount cannot cause the balance to go below 0."


def test_credit_note_application(inv: InvoicedClient, make_invoice: Any, customer: Any) -> None:
    invoice = make_invoice(100)
    note = inv.create("/credit_notes", {"customer": customer["id"], "items": [{"unit_cost": 30}]})
    payment = inv.create(
        "/payments",
        {
            "customer": customer["id"],
            "amount": 0,
            "applied_to": [
                {
                    "type": "credit_note",
                    "credit_note": note["id"],
                    "document_type": "invoice",
                    "invoice": invoice["id"],
                    "amount": 30,
                }
            ],
        },
    )
    assert payment["balance"] == 0
    credited = invoice_state(inv, invoice["id"])
    assert (credited["amount_credited"], credited["balance"]) == (30, 70)
    used = inv.get(f"/credit_notes/{note['id']}").json()
    assert (used["balance"], used["status"], used["paid"]) == (0, "paid", True)
    refused = inv.post(f"/credit_notes/{note['id']}/void")
    assert (
        refused.json()["message"]
        == "This credit note cannot be voided because it has been applied to an invoice."
    )
    assert inv.post(f"/invoices/{invoice['id']}/void").json()["message"] == (
        "This invoice cannot be voided because it has a credit note applied."
    )


def test_credit_note_for_an_invoice_is_applied_at_once(inv: InvoicedClient, make_invoice: Any) -> None:
    invoice = make_invoice(100)
    note = inv.create("/credit_notes", {"invoice": invoice["id"], "items": [{"unit_cost": 150}]})
    assert (note["invoice"], note["customer"], note["balance"]) == (invoice["id"], invoice["customer"], 50)
    assert invoice_state(inv, invoice["id"])["amount_credited"] == 100


def test_credit_balance_round_trip(inv: InvoicedClient, make_invoice: Any, customer: Any) -> None:
    invoice = make_invoice(40)
    inv.create(
        "/payments",
        {"customer": customer["id"], "amount": 50, "applied_to": [{"type": "credit", "amount": 50}]},
    )
    assert (
        inv.get(f"/customers/{customer['id']}", params={"include": "credit_balance"}).json()["credit_balance"]
        == 50
    )
    spend = {"type": "applied_credit", "document_type": "invoice", "invoice": invoice["id"], "amount": 40}
    inv.create("/payments", {"customer": customer["id"], "amount": 0, "applied_to": [spend]})
    assert invoice_state(inv, invoice["id"])["status"] == "paid"
    overspent = inv.post(
        "/payments", json={"customer": customer["id"], "amount": 0, "applied_to": [{**spend, "amount": 20}]}
    )
    assert overspent.status_code == 400


def test_payment_without_customer_takes_the_invoice_customer(inv: InvoicedClient, make_invoice: Any) -> None:
    invoice = make_invoice()
    payment = inv.create(
        "/payments",
        {"amount": 10, "applied_to": [{"type": "invoice", "invoice": invoice["id"], "amount": 10}]},
    )
    assert payment["customer"] == invoice["customer"]
    unapplied = inv.create("/payments", {"amount": 10})
    assert (unapplied["customer"], unapplied["balance"]) == (None, 10)


APPLY = "An error occurred while trying to apply payment: "


def test_convenience_fee_is_cash_applied_to_no_document(
    inv: InvoicedClient, make_invoice: Any, customer: Any
) -> None:
    """BE ConvenienceFeeSplit.php: a payment transaction on no document, counted in the
    payment's applied cash (HasAppliedToTrait::calculateBalance)."""
    invoice = make_invoice(100)
    body = {
        "customer": customer["id"],
        "amount": 103,
        "applied_to": [
            {"type": "invoice", "invoice": invoice["id"], "amount": 100},
            {"type": "convenience_fee", "amount": 3},
        ],
    }
    payment = inv.create("/payments", body)
    assert payment["balance"] == 0
    applied = inv.get(f"/payments/{payment['id']}", params={"include": "applied_to"}).json()["applied_to"]
    fee = next(split for split in applied if split["type"] == "convenience_fee")
    assert set(fee) == {"id", "type", "amount"} and fee["amount"] == 3
    paid = invoice_state(inv, invoice["id"])
    assert (paid["amount_paid"], paid["balance"], paid["status"]) == (100, 0, "paid")
    credit = inv.get(f"/customers/{customer['id']}", params={"include": "credit_balance"}).json()
    assert credit["credit_balance"] == 0
    too_much = inv.post("/payments", json={**body, "amount": 100, "applied_to": [
        {"type": "invoice", "invoice": make_invoice(100)["id"], "amount": 100},
        {"type": "convenience_fee", "amount": 3},
    ]})
    assert too_much.json()["message"] == APPLY + "Total amount applied (103 USD) cannot exceed the payment amount (100 USD)"
    on_invoice = inv.post("/payments", json={**body, "applied_to": [
        {"type": "convenience_fee", "amount": 3, "invoice": invoice["id"]}
    ]})
    assert (on_invoice.status_code, on_invoice.json()["param"]) == (400, "applied_to.invoice")


def test_estimate_splits_find_no_estimate(inv: InvoicedClient, customer: Any) -> None:
    """The type exists (PaymentItemType); the sandbox has no estimates, so the lookup of
    EstimateSplit.php fails with the service's message."""
    answer = inv.post("/payments", json={
        "customer": customer["id"], "amount": 10, "applied_to": [{"type": "estimate", "estimate": 5, "amount": 10}]
    })
    assert (answer.status_code, answer.json()) == (
        400, {"type": "invalid_request", "message": APPLY + "Could not find estimate: 5", "param": "applied_to"}
    )
    assert inv.get("/payments").json() == []


def test_document_adjustment_lowers_a_balance_without_cash(
    inv: InvoicedClient, make_invoice: Any, customer: Any
) -> None:
    """BE DocumentAdjustmentSplit.php, ReceivableBalanceAdjuster.php: a zero-amount payment sets
    a document's balance; calculateBalance leaves the payment's cash alone."""
    invoice = make_invoice(100)
    note = inv.create("/credit_notes", {"customer": customer["id"], "items": [{"unit_cost": 50}]})
    payment = inv.create("/payments", {
        "customer": customer["id"],
        "amount": 0,
        "applied_to": [
            {"type": "document_adjustment", "document_type": "invoice", "invoice": invoice["id"], "amount": 30},
            {"type": "document_adjustment", "document_type": "credit_note", "credit_note": note["id"], "amount": 20},
        ],
    })
    assert (payment["amount"], payment["balance"]) == (0, 0)
    adjusted = invoice_state(inv, invoice["id"])
    assert (adjusted["balance"], adjusted["amount_paid"], adjusted["amount_credited"]) == (70, 0, 0)
    assert inv.get(f"/credit_notes/{note['id']}").json()["balance"] == 30
    applied = inv.get(f"/payments/{payment['id']}", params={"include": "applied_to"}).json()["applied_to"]
    assert [(s["document_type"], s.get("invoice"), s.get("credit_note")) for s in applied] == [
        ("invoice", invoice["id"], None), ("credit_note", None, note["id"])
    ]
    inv.delete(f"/payments/{payment['id']}")
    assert invoice_state(inv, invoice["id"])["balance"] == 100
    errors = {
        "Unspecified document type.": {"type": "document_adjustment", "invoice": invoice["id"], "amount": 5},
        "Invalid document type provided. Allowed types are credit_note, estimate, invoice": {
            "type": "document_adjustment", "document_type": "payment", "amount": 5
        },
        "Could not find estimate: 9": {
            "type": "document_adjustment", "document_type": "estimate", "estimate": 9, "amount": 5
        },
    }
    for message, split in errors.items():
        refused = inv.post("/payments", json={"customer": customer["id"], "amount": 0, "applied_to": [split]})
        assert refused.json()["message"] == APPLY + message


@pytest.mark.parametrize(
    "method", ["check", "wire_transfer", "balance", "bank_transfer", "online", "affirm", "klarna", "crypto"]
)
def test_payment_method_is_not_validated(inv: InvoicedClient, customer: Any, method: str) -> None:
    """BE payment.yaml / PaymentMethod.php know more methods than the docs, and the route
    declares `method` only as a string."""
    payment = inv.create("/payments", {"customer": customer["id"], "amount": 5, "method": method})
    assert payment["method"] == method
    assert [p["id"] for p in inv.get("/payments", params={"filter[method]": method}).json()] == [payment["id"]]


def test_documented_methods_only_when_switched(inv: InvoicedClient, sandbox_state: SandboxState, customer: Any) -> None:
    sandbox_state.config.payment_methods_validated = True
    refused = inv.post("/payments", json={"customer": customer["id"], "amount": 5, "method": "klarna"})
    assert (refused.status_code, refused.json()["param"]) == (400, "method")
    assert inv.create("/payments", {"customer": customer["id"], "amount": 5, "method": "eft"})["method"] == "eft"


def test_document_adjustment_refused_when_switched_off(
    inv: InvoicedClient, sandbox_state: SandboxState, make_invoice: Any, customer: Any
) -> None:
    sandbox_state.config.document_adjustment_splits = False
    split = {"type": "document_adjustment", "document_type": "invoice", "invoice": make_invoice()["id"], "amount": 5}
    refused = inv.post("/payments", json={"customer": customer["id"], "amount": 0, "applied_to": [split]})
    assert refused.json()["message"] == APPLY + "Invalid payment application type: document_adjustment"
