"""qbo_import rule 4 with qbo_sync, against both sandboxes: nothing echoes between them."""

from __future__ import annotations

from typing import Any

from tests.e2e.import_harness import Pipelines


def pay_on_invoiced(pipes: Pipelines, invoice: dict[str, Any], amount: float) -> dict[str, Any]:
    return dict(pipes.invoiced("POST", "/payments", json={
        "customer": invoice["customer"], "amount": amount, "method": "check", "reference": "CHK-77",
        "applied_to": [{"type": "invoice", "invoice": invoice["id"], "amount": amount}],
    }))


def test_a_payment_on_invoiced_reaches_the_original_invoice_and_does_not_come_back(pipelines: Pipelines) -> None:
    pipelines.run_import()
    invoice = pipelines.invoiced_invoice("1004")
    original = pipelines.qbo_invoice("1004")
    pay_on_invoiced(pipelines, invoice, invoice["balance"])

    pipelines.run_sync()

    paid = pipelines.qbo_invoice("1004")
    assert paid["Balance"] == 0
    assert len(pipelines.boxes.qbo_rows("Invoice", "DocNumber = '1004'")) == 1  # not written again
    [link] = paid["LinkedTxn"]
    payment = pipelines.qbo("GET", f"payment/{link['TxnId']}")["Payment"]
    assert payment["Line"][0]["LinkedTxn"] == [{"TxnId": original["Id"], "TxnType": "Invoice"}]
    assert payment["TotalAmt"] == original["TotalAmt"]

    pipelines.boxes.reset_stats()
    pipelines.run_import()
    assert pipelines.invoiced_writes() == []
    assert pipelines.invoiced_invoice("1004")["balance"] == 0


def test_a_payment_recorded_from_quickbooks_is_not_written_back(pipelines: Pipelines) -> None:
    pipelines.run_import()  # 1002, 1005 and 1011 arrive with their QBO payments recorded
    pipelines.qbo_pay(pipelines.qbo_invoice("1012"), 50)
    pipelines.run_import()
    pipelines.run_sync()  # qbo_sync sees those payments and must leave them alone
    pipelines.boxes.reset_stats()

    pipelines.run_sync()
    pipelines.run_import()

    assert not any("payment" in row["path"] for row in pipelines.qbo_writes())
    assert pipelines.invoiced_writes() == []
    assert len(pipelines.qbo_invoice("1012")["LinkedTxn"]) == 1


def test_an_imported_invoice_edited_on_invoiced_is_not_written_back(pipelines: Pipelines) -> None:
    pipelines.run_import()
    before = pipelines.qbo_invoice("1008")
    invoice = pipelines.invoiced_invoice("1008")
    pipelines.invoiced("PATCH", f"/invoices/{invoice['id']}", json={
        "notes": "Edited on Invoiced",
        "items": [*({"id": line["id"]} for line in invoice["items"]), {"name": "Extra", "unit_cost": 10}],
    })

    pipelines.run_sync()
    pipelines.run_import()

    after = pipelines.qbo_invoice("1008")
    assert (after["SyncToken"], after["TotalAmt"], after.get("CustomerMemo")) == (
        before["SyncToken"], before["TotalAmt"], before.get("CustomerMemo")
    )
    assert pipelines.invoiced_invoice("1008")["notes"] == "Edited on Invoiced"


def test_invoices_qbo_sync_wrote_to_quickbooks_are_never_imported(pipelines: Pipelines) -> None:
    customer = pipelines.invoiced("POST", "/customers", json={"name": "Round Trip Co"})
    pipelines.invoiced("POST", "/invoices", json={
        "customer": customer["id"], "number": "INV-RT-1", "items": [{"name": "Design", "unit_cost": 320}],
    })
    pipelines.run_sync()
    assert pipelines.qbo_invoice("INV-RT-1")["Balance"] == 320

    job = pipelines.run_import()

    assert [i["number"] for i in pipelines.invoiced("GET", "/invoices")].count("INV-RT-1") == 1
    assert job.counts_dict()["invoice"]["skipped"] >= 1


def test_customers_imported_from_quickbooks_stay_mastered_by_quickbooks(pipelines: Pipelines) -> None:
    pipelines.run_import()
    before = pipelines.qbo_customer("Jeff's Jalopies")

    pipelines.run_sync()

    after = pipelines.qbo_customer("Jeff's Jalopies")
    pipelines.qbo("POST", "customer", json={"Id": after["Id"], "SyncToken": after["SyncToken"], "sparse": True,
                                            "PrimaryPhone": {"FreeFormNumber": "650-555-0199"}})
    pipelines.run_import()
    [jeff] = [c for c in pipelines.invoiced("GET", "/customers") if c["name"] == "Jeff's Jalopies"]
    assert jeff["phone"] == "650-555-0199"
    assert after["SyncToken"] == before["SyncToken"]
