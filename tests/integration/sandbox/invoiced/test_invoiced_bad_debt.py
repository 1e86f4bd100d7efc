"""Bad-debt write-off: a "Bad Debt" credit note applied by a payment, status bad_debt."""

from __future__ import annotations

from typing import Any

from sandbox.invoiced.state import SandboxState
from tests.integration.sandbox.invoiced.invoiced_client import InvoicedClient

HIDDEN = {"include": "date_bad_debt,amount_written_off,amount_credited,amount_paid"}


def test_write_off_credits_the_balance(inv: InvoicedClient, make_invoice: Any, pay: Any) -> None:
    invoice = make_invoice(100, due_date=1_000)
    pay({invoice["id"]: 40})
    written_off = inv.post(f"/invoices/{invoice['id']}/bad_debt", params=HIDDEN)
    assert written_off.status_code == 200
    body = written_off.json()
    assert (body["status"], body["closed"], body["paid"], body["balance"]) == ("bad_debt", True, False, 0)
    assert (body["amount_written_off"], body["amount_credited"], body["amount_paid"]) == (60, 60, 40)
    assert body["date_bad_debt"] is not None
    (note,) = inv.get("/credit_notes").json()
    assert (note["name"], note["total"], note["status"]) == ("Bad Debt", 60, "paid")
    assert note["items"][0]["catalog_item"] == "bad_debt"
    assert inv.get("/items/bad_debt").json()["name"] == "Bad Debt"
    payments = inv.get("/payments", params={"include": "applied_to"}).json()
    (split,) = payments[-1]["applied_to"]
    assert (split["type"], split["credit_note"], split["invoice"], split["amount"]) == (
        "credit_note",
        note["id"],
        invoice["id"],
        60,
    )
    assert inv.get("/invoices", params={"filter[status]": "bad_debt"}).json()[0]["id"] == invoice["id"]


def test_write_off_refusals(inv: InvoicedClient, make_invoice: Any, pay: Any) -> None:
    draft = make_invoice(draft=True)
    voided = make_invoice()
    inv.post(f"/invoices/{voided['id']}/void")
    paid = make_invoice(10)
    pay({paid["id"]: 10})
    written = make_invoice()
    inv.post(f"/invoices/{written['id']}/bad_debt")
    cases = {
        draft["id"]: "You can't write off draft invoices",
        voided["id"]: "You can't write off voided invoices",
        paid["id"]: "You can't write off invoices with zero balance",
        written["id"]: "The invoice has already been written off",
    }
    for invoice_id, message in cases.items():
        response = inv.post(f"/invoices/{invoice_id}/bad_debt")
        assert response.status_code == 500
        assert response.json() == {"type": "api_error", "message": message}


def test_refusal_status_is_configurable(
    inv: InvoicedClient, make_invoice: Any, sandbox_state: SandboxState
) -> None:
    sandbox_state.config.bad_debt_error_status = 400
    draft = make_invoice(draft=True)
    assert inv.post(f"/invoices/{draft['id']}/bad_debt").json()["type"] == "invalid_request"


def test_closed_unpaid_invoice_can_still_be_written_off(inv: InvoicedClient, make_invoice: Any) -> None:
    invoice = make_invoice(due_date=1_000)
    assert inv.patch(f"/invoices/{invoice['id']}", json={"closed": True}).json()["status"] == "past_due"
    assert inv.post(f"/invoices/{invoice['id']}/bad_debt").json()["status"] == "bad_debt"


def test_voiding_the_write_off_payment_reopens(inv: InvoicedClient, make_invoice: Any) -> None:
    invoice = make_invoice(due_date=1_000)
    inv.post(f"/invoices/{invoice['id']}/bad_debt")
    write_off = inv.get("/payments").json()[-1]
    inv.delete(f"/payments/{write_off['id']}")
    reopened = inv.get(f"/invoices/{invoice['id']}").json()
    assert (reopened["status"], reopened["closed"], reopened["balance"]) == ("past_due", False, 100)
