"""Credit memos made in QuickBooks become Invoiced credit notes (issue: "applied where QBO
applied them; voided or deleted ones are reversed"), marked as from QuickBooks and never
written back by qbo_sync; a second import writes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from accounting_sync.common.values import money
from accounting_sync.qbo_import.pipeline import ImportFailed
from accounting_sync.qbo_import.transform import CREDIT_MEMO_KEY
from accounting_sync.tie_out.step import tie_out
from tests.e2e.import_harness import COMPANY, Pipelines, fault_first_post


def qbo_credit_memo(pipes: Pipelines, invoice: dict[str, Any], amount: float, number: str) -> dict[str, Any]:
    item = pipes.boxes.qbo_rows("Item", "Name = 'Consulting'")[0]
    body = {"CustomerRef": invoice["CustomerRef"], "DocNumber": number, "Line": [{
        "Amount": amount, "DetailType": "SalesItemLineDetail", "Description": "Goodwill credit",
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 1, "UnitPrice": amount},
    }]}
    return pipes.qbo("POST", "creditmemo", json=body)["CreditMemo"]


def qbo_apply(pipes: Pipelines, memo: dict[str, Any], invoice: dict[str, Any], amount: float) -> dict[str, Any]:
    """QBO's way: a $0 payment whose lines link the invoice and the credit memo."""
    body = {"CustomerRef": invoice["CustomerRef"], "TotalAmt": 0, "Line": [
        {"Amount": amount, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]},
        {"Amount": amount, "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]},
    ]}
    return pipes.qbo("POST", "payment", json=body)["Payment"]


def credit_note(pipes: Pipelines, number: str) -> dict[str, Any]:
    [found] = pipes.invoiced("GET", "/credit_notes", params={"filter[number]": number})
    return dict(found)


def test_credit_memos_arrive_applied_or_as_credit_and_nothing_echoes(pipelines: Pipelines) -> None:
    pipelines.run_import()  # the demo company's outstanding invoices arrive
    invoice = pipelines.qbo_invoice("1001")
    applied = qbo_credit_memo(pipelines, invoice, 75.55, "CM-1")
    qbo_apply(pipelines, applied, invoice, 75.55)
    left = qbo_credit_memo(pipelines, invoice, 40.10, "CM-2")

    pipelines.run_import()

    qbo_invoice, on_invoiced = pipelines.qbo_invoice("1001"), pipelines.invoiced_invoice("1001")
    assert money(on_invoiced["balance"]) == money(qbo_invoice["Balance"]) == money(invoice["Balance"]) - Decimal("75.55")
    first, second = credit_note(pipelines, "CM-1"), credit_note(pipelines, "CM-2")
    assert (money(first["total"]), money(first["balance"])) == (Decimal("75.55"), Decimal("0.00"))
    assert (money(second["total"]), money(second["balance"])) == (Decimal("40.10"), Decimal("40.10"))
    left_in_qbo = pipelines.boxes.qbo_rows("CreditMemo", f"Id = '{left['Id']}'")[0]
    assert money(second["balance"]) == money(left_in_qbo["RemainingCredit"])
    assert first["metadata"][CREDIT_MEMO_KEY] == applied["Id"]
    payments = pipelines.invoiced("GET", "/payments", params={"include": "applied_to"})
    on_invoice = [p for p in payments if any(s.get("invoice") == on_invoiced["id"] for s in p["applied_to"])]
    credit = [p for p in on_invoice if p["applied_to"][0]["type"] == "credit_note"]
    assert [(money(p["amount"]), p["source"]) for p in credit] == [(Decimal("0.00"), "accounting_system")]
    assert money(credit[0]["applied_to"][0]["amount"]) == Decimal("75.55")
    assert sum(money(p["amount"]) for p in on_invoice) == money(invoice["TotalAmt"]) - money(invoice["Balance"])
    books = tie_out(pipelines.job("qbo_sync"), full=True)  # the product's own check: A/R less credit alike
    assert books.differences == [] and books.receivable_invoiced == books.receivable_qbo

    pipelines.boxes.reset_stats()
    pipelines.run_import()
    pipelines.run_sync()

    assert pipelines.invoiced_writes() == []  # the second import writes nothing
    written = [row["path"] for row in pipelines.qbo_writes()]
    assert not any("creditmemo" in path or "payment" in path for path in written)  # never written back


def test_a_credit_memo_deleted_in_quickbooks_is_unapplied_and_voided(pipelines: Pipelines) -> None:
    pipelines.run_import()
    invoice = pipelines.qbo_invoice("1002")
    memo = qbo_credit_memo(pipelines, invoice, 20.00, "CM-3")
    payment = qbo_apply(pipelines, memo, invoice, 20.00)
    pipelines.run_import()
    # QBO refuses to delete an applied credit memo: its payment goes first.
    pipelines.qbo("POST", "payment", params={"operation": "delete"},
                  json={"Id": payment["Id"], "SyncToken": payment["SyncToken"]})
    current = pipelines.boxes.qbo_rows("CreditMemo", f"Id = '{memo['Id']}'")[0]
    pipelines.qbo("POST", "creditmemo", params={"operation": "delete"},
                  json={"Id": current["Id"], "SyncToken": current["SyncToken"]})

    pipelines.run_import()

    voided = credit_note(pipelines, "CM-3")
    assert voided["status"] == "voided"
    assert money(pipelines.invoiced_invoice("1002")["balance"]) == money(pipelines.qbo_invoice("1002")["Balance"])
    pipelines.boxes.reset_stats()
    pipelines.run_import()
    assert pipelines.invoiced_writes() == []


def test_a_credit_memo_unapplied_in_quickbooks_is_unapplied_on_invoiced(pipelines: Pipelines) -> None:
    pipelines.run_import()
    invoice = pipelines.qbo_invoice("1004")
    memo = qbo_credit_memo(pipelines, invoice, 12.34, "CM-4")
    payment = qbo_apply(pipelines, memo, invoice, 12.34)
    pipelines.run_import()
    pipelines.qbo("POST", "payment", params={"operation": "void"},
                  json={"Id": payment["Id"], "SyncToken": pipelines.boxes.qbo_rows(
                      "Payment", f"Id = '{payment['Id']}'")[0]["SyncToken"]})

    pipelines.run_import()

    left = credit_note(pipelines, "CM-4")
    assert (left["status"] != "voided", money(left["balance"])) == (True, Decimal("12.34"))
    assert money(pipelines.invoiced_invoice("1004")["balance"]) == money(pipelines.qbo_invoice("1004")["Balance"])


def test_with_import_credit_notes_off_the_credit_memo_stays_in_quickbooks(pipelines: Pipelines) -> None:
    pipelines.settings["import_credit_notes"] = False
    pipelines.run_import()
    qbo_credit_memo(pipelines, pipelines.qbo_invoice("1001"), 10.0, "CM-5")

    pipelines.run_import()

    assert pipelines.invoiced("GET", "/credit_notes", params={"filter[number]": "CM-5"}) == []


def test_an_invoice_waits_for_its_failed_credit_memo_instead_of_recording_the_credit_as_a_payment(
    pipelines: Pipelines,
) -> None:
    pipelines.run_import()
    invoice = pipelines.qbo_invoice("1005")
    before = pipelines.invoiced_invoice("1005")
    taken = pipelines.invoiced("POST", "/credit_notes", json={  # an Invoiced credit note holds the number
        "customer": before["customer"], "number": "CM-6", "items": [{"name": "Other", "unit_cost": 1}]})
    memo = qbo_credit_memo(pipelines, invoice, 30.00, "CM-6")
    qbo_apply(pipelines, memo, invoice, 30.00)

    with pytest.raises(ImportFailed):
        pipelines.run_import()

    errors = {e.object_type: e for e in pipelines.store.open_errors(COMPANY, "qbo_import")}
    assert errors["invoice"].code == "credit_memo_failed" and "CM-6" in errors["invoice"].message
    assert money(pipelines.invoiced_invoice("1005")["balance"]) == money(before["balance"])  # no payment instead

    pipelines.invoiced("PATCH", f"/credit_notes/{taken['id']}", json={"number": "CM-6-OLD"})  # the fix
    pipelines.run_import()

    assert money(pipelines.invoiced_invoice("1005")["balance"]) == money(pipelines.qbo_invoice("1005")["Balance"])
    assert money(credit_note(pipelines, "CM-6")["balance"]) == Decimal("0.00")
    assert pipelines.store.open_errors(COMPANY, "qbo_import") == []


def test_an_imported_credit_note_applied_on_invoiced_reaches_qbo_once_and_does_not_come_back(
    pipelines: Pipelines,
) -> None:
    customer = pipelines.invoiced("POST", "/customers", json={"name": "Harbor Freight Co"})
    invoice = pipelines.invoiced("POST", "/invoices", json={
        "customer": customer["id"], "items": [{"name": "Consulting", "quantity": 1, "unit_cost": 100}]})
    pipelines.run_sync()
    qbo_invoice = next(row for row in pipelines.boxes.qbo_rows("Invoice")
                       if f"Invoiced invoice {invoice['id']}" in row.get("PrivateNote", ""))
    qbo_credit_memo(pipelines, qbo_invoice, 25.00, "CM-7")  # for a customer that came from Invoiced
    pipelines.run_import()
    note = credit_note(pipelines, "CM-7")
    pipelines.invoiced("POST", "/payments", json={"customer": customer["id"], "amount": 0, "applied_to": [
        {"type": "credit_note", "credit_note": note["id"], "invoice": invoice["id"], "document_type": "invoice",
         "amount": 25}]})
    pipelines.run_sync()  # the application happened on Invoiced: written to QBO as a $0 payment
    pipelines.boxes.reset_stats()

    pipelines.run_import()

    assert pipelines.invoiced_writes() == []  # not applied a second time
    on_invoiced = pipelines.invoiced("GET", f"/invoices/{invoice['id']}")
    assert money(on_invoiced["balance"]) == money(pipelines.qbo_invoice(qbo_invoice["DocNumber"])["Balance"]) == (
        Decimal("75.00"))


@pytest.mark.parametrize("target", ["/credit_notes", "/payments"])
def test_a_lost_answer_to_the_credit_note_or_its_application_is_read_back_not_written_again(
    pipelines: Pipelines, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """commit_500: Invoiced stores the record, then answers 500 (and replays it for the key)."""
    pipelines.run_import()
    invoice = pipelines.qbo_invoice("1001")
    qbo_apply(pipelines, qbo_credit_memo(pipelines, invoice, 10.01, "CM-8"), invoice, 10.01)
    fault_first_post(pipelines, monkeypatch, lambda path: path == target, kinds=["commit_500"])

    pipelines.run_import()

    pipelines.boxes.faults("invoiced", probability=0, kinds=[])
    assert 500 in [row["status"] for row in pipelines.invoiced_writes() if row["path"] == target]
    assert len(pipelines.invoiced("GET", "/credit_notes", params={"filter[number]": "CM-8"})) == 1
    assert money(credit_note(pipelines, "CM-8")["balance"]) == Decimal("0.00")
    assert money(pipelines.invoiced_invoice("1001")["balance"]) == money(pipelines.qbo_invoice("1001")["Balance"])
