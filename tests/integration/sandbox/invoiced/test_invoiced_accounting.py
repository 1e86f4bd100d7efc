"""Imported marks: accounting_system/accounting_id and accounting_sync_status."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.invoiced.state import SandboxState
from tests.integration.sandbox.invoiced.invoiced_client import InvoicedClient

MARK = {"accounting_system": "quickbooks_online", "accounting_id": "145"}


def test_marked_invoice_reports_its_mapping(inv: InvoicedClient, make_invoice: Any) -> None:
    invoice = make_invoice(**MARK)
    assert "accounting_system" not in invoice and "accounting_id" not in invoice
    status = inv.get(f"/invoices/{invoice['id']}/accounting_sync_status").json()
    assert status == {
        "synced": True,
        "error": None,
        "accounting_system": "quickbooks_online",
        "accounting_id": "145",
        "source": "accounting_system",
        "first_synced": status["first_synced"],
        "last_synced": status["last_synced"],
    }
    assert isinstance(status["first_synced"], int)


def test_unmarked_record_is_not_synced(inv: InvoicedClient, make_invoice: Any) -> None:
    invoice = make_invoice()
    assert inv.get(f"/invoices/{invoice['id']}/accounting_sync_status").json() == {
        "synced": False,
        "error": None,
    }


def test_unknown_integration_is_refused_before_writing(inv: InvoicedClient) -> None:
    response = inv.post("/customers", json={"name": "X", "accounting_system": "foo", "accounting_id": "1"})
    assert response.status_code == 400
    assert response.json() == {"type": "invalid_request", "message": "No such integration: foo"}
    assert inv.get("/customers").json() == []


@pytest.mark.parametrize("path", ["/customers", "/credit_notes", "/payments"])
def test_every_marked_object_type(inv: InvoicedClient, customer: dict[str, Any], path: str) -> None:
    bodies = {
        "/customers": {"name": "Imported"},
        "/credit_notes": {"customer": customer["id"], "items": [{"unit_cost": 5}]},
        "/payments": {"customer": customer["id"], "amount": 5},
    }
    # /payments declares accounting_id a string (CreatePaymentRoute); the others take a number too
    accounting_id = "77" if path == "/payments" else 77
    created = inv.create(path, {**bodies[path], **MARK, "accounting_id": accounting_id})
    status = inv.get(f"{path}/{created['id']}/accounting_sync_status").json()
    assert (status["synced"], status["accounting_id"]) == (True, "77")
    if path == "/payments":
        assert created["source"] == "keyed"  # the mark only records a mapping


@pytest.mark.parametrize(("implied", "sent", "expected"), [
    (False, None, "keyed"),
    (False, "accounting_system", "accounting_system"),
    (True, None, "accounting_system"),
    (True, "keyed", "keyed"),
])
def test_a_marked_payment_keeps_its_source_unless_the_switch_implies_it(
    inv: InvoicedClient, sandbox_state: SandboxState, customer: dict[str, Any],
    implied: bool, sent: str | None, expected: str,
) -> None:
    sandbox_state.config.mark_sets_payment_source = implied
    body = {"customer": customer["id"], "amount": 5, **MARK, **({"source": sent} if sent else {})}
    assert inv.create("/payments", body)["source"] == expected


def test_mark_on_patch_and_never_overwritten(inv: InvoicedClient, make_invoice: Any) -> None:
    invoice = make_invoice()
    inv.patch(f"/invoices/{invoice['id']}", json=MARK)
    inv.patch(
        f"/invoices/{invoice['id']}", json={**MARK, "accounting_id": "999", "accounting_source": "invoiced"}
    )
    status = inv.get(f"/invoices/{invoice['id']}/accounting_sync_status").json()
    assert (status["accounting_id"], status["source"]) == ("145", "accounting_system")


CLOSED = "Your changes cannot be saved because this document is closed. Please re-open the document to make any changes."
VOIDED = "Your changes cannot be saved because this document is voided."


@pytest.mark.parametrize("is_edit", [True, False])
def test_marking_a_closed_or_voided_document(
    inv: InvoicedClient, sandbox_state: SandboxState, make_invoice: Any, pay: Any, is_edit: bool
) -> None:
    """BE Model.php / ReceivableDocument.php: the marks are stripped, then the document is saved."""
    sandbox_state.config.mark_only_patch_is_edit = is_edit
    paid = make_invoice()
    pay({paid["id"]: 100})
    voided = make_invoice()
    inv.post(f"/invoices/{voided['id']}/void")
    for invoice, message, param in ((paid, CLOSED, "closed"), (voided, VOIDED, "voided")):
        answer = inv.patch(f"/invoices/{invoice['id']}", json=MARK)
        status = inv.get(f"/invoices/{invoice['id']}/accounting_sync_status").json()
        if is_edit:
            assert (answer.status_code, answer.json()) == (
                400, {"type": "invalid_request", "message": message, "param": param}
            )
            assert status == {"synced": False, "error": None}
        else:
            assert answer.status_code == 200
            assert status["synced"] is True


@pytest.mark.parametrize("is_edit", [True, False])
@pytest.mark.parametrize("kind", ["invoice", "credit_note", "customer", "payment"])
def test_a_mark_only_patch_moves_updated_at(
    inv: InvoicedClient, sandbox_state: SandboxState, customer: dict[str, Any], kind: str, is_edit: bool
) -> None:
    sandbox_state.config.mark_only_patch_is_edit = is_edit
    bodies = {
        "invoice": ("/invoices", {"customer": customer["id"], "items": [{"unit_cost": 5}]}),
        "credit_note": ("/credit_notes", {"customer": customer["id"], "items": [{"unit_cost": 5}]}),
        "customer": ("/customers", {"name": "Marked"}),
        "payment": ("/payments", {"customer": customer["id"], "amount": 5}),
    }
    path, body = bodies[kind]
    created = inv.create(path, body)
    inv.control("clock", {"advance_seconds": 60})
    answer = inv.patch(f"{path}/{created['id']}", json=MARK)
    assert answer.status_code == 200
    moved = answer.json()["updated_at"] > created["updated_at"]
    assert moved is is_edit
    changed = inv.get(path, params={"updated_after": created["updated_at"]}).json()
    assert [record["id"] for record in changed] == ([created["id"]] if is_edit else [])
    assert inv.get(f"{path}/{created['id']}/accounting_sync_status").json()["synced"] is True


def test_legacy_metadata_mapping(inv: InvoicedClient, make_invoice: Any) -> None:
    invoice = make_invoice(metadata={"quickbooks_invoice_id": "88"})
    status = inv.get(f"/invoices/{invoice['id']}/accounting_sync_status").json()
    assert (status["synced"], status["accounting_system"], status["accounting_id"]) == (
        True,
        "quickbooks_online",
        "88",
    )
    assert status["first_synced"] is None
