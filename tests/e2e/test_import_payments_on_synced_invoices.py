"""A payment received in QuickBooks on an invoice that came from Invoiced is recorded on
Invoiced (issue: "an invoice paid in QBO is paid on Invoiced too"), marked as coming from
QuickBooks, and never written back; with import_payments off it stays in QuickBooks."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from accounting_sync.common.values import money
from tests.e2e.import_harness import Pipelines


def synced_invoice(pipes: Pipelines, total: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """An invoice issued on Invoiced and written to QBO by qbo_sync."""
    customer = pipes.invoiced("POST", "/customers", json={"name": "Harbor Freight Co"})
    invoice = pipes.invoiced("POST", "/invoices", json={
        "customer": customer["id"], "items": [{"name": "Consulting", "quantity": 1, "unit_cost": total}],
    })
    pipes.run_sync()
    qbo = next(row for row in pipes.boxes.qbo_rows("Invoice") if f"Invoiced invoice {invoice['id']}" in row.get("PrivateNote", ""))
    return dict(invoice), qbo


def test_a_payment_in_quickbooks_pays_the_invoiced_invoice_once_and_never_comes_back(pipelines: Pipelines) -> None:
    invoice, qbo = synced_invoice(pipelines, 300)
    pipelines.qbo_pay(qbo, 120.0)

    pipelines.run_import()
    after_first = pipelines.invoiced("GET", f"/invoices/{invoice['id']}")
    pipelines.qbo_pay(pipelines.qbo_invoice(qbo["DocNumber"]), 180.0)
    pipelines.run_import()
    paid = pipelines.invoiced("GET", f"/invoices/{invoice['id']}")
    payments = [p for p in pipelines.invoiced("GET", "/payments", params={"include": "applied_to"})
                if any(str(s.get("invoice")) == str(invoice["id"]) for s in p.get("applied_to") or [])]
    pipelines.boxes.reset_stats()
    pipelines.run_sync()
    pipelines.run_import()

    assert money(after_first["balance"]) == Decimal("180.00")
    assert money(paid["balance"]) == Decimal("0.00") and paid["paid"]
    assert sorted(money(p["amount"]) for p in payments) == [Decimal("120.00"), Decimal("180.00")]
    assert all(p["source"] == "accounting_system" for p in payments)
    assert not any("payment" in row["path"] for row in pipelines.qbo_writes())  # not written back
    assert pipelines.invoiced_writes() == []
    assert len(pipelines.qbo_invoice(qbo["DocNumber"])["LinkedTxn"]) == 2


def test_our_own_payment_on_a_synced_invoice_is_not_recorded_twice(pipelines: Pipelines) -> None:
    invoice, qbo = synced_invoice(pipelines, 90)
    pipelines.invoiced("POST", "/payments", json={
        "customer": invoice["customer"], "amount": 90, "method": "check",
        "applied_to": [{"type": "invoice", "invoice": invoice["id"], "amount": 90}],
    })
    pipelines.run_sync()  # the Invoiced payment reaches QBO
    pipelines.run_import()  # the demo company's own invoices arrive
    pipelines.qbo("POST", "invoice", json={**pipelines.qbo_invoice(qbo["DocNumber"]), "PrivateNote": qbo["PrivateNote"]})
    pipelines.boxes.reset_stats()

    pipelines.run_import()

    assert pipelines.invoiced_writes() == []
    assert pipelines.qbo_invoice(qbo["DocNumber"])["Balance"] == 0


@pytest.mark.parametrize("switch", [False])
def test_with_import_payments_off_the_payment_stays_in_quickbooks(pipelines: Pipelines, switch: bool) -> None:
    pipelines.settings["import_payments"] = switch
    invoice, qbo = synced_invoice(pipelines, 50)
    pipelines.qbo_pay(qbo, 50.0)

    pipelines.run_import()

    assert money(pipelines.invoiced("GET", f"/invoices/{invoice['id']}")["balance"]) == Decimal("50.00")
