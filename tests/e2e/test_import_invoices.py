"""qbo_import rules 2 and 3 against both sandboxes: outstanding invoices, kept in step."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from accounting_sync.qbo_import.pipeline import ImportFailed
from accounting_sync.qbo_import.transform import METADATA_KEY
from accounting_sync.store.idmap import ORIGIN_QUICKBOOKS
from tests.e2e.import_harness import COMPANY, Pipelines

OUTSTANDING = {"1001", "1002", "1004", "1005", "1006", "1007", "1008", "1010", "1011", "1012", "1013", "1014",
               "1015"}  # the demo's invoices 1003 and 1009 are paid in full


def day(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).date().isoformat()


def payments_on(pipes: Pipelines, invoice: dict[str, Any]) -> list[dict[str, Any]]:
    payments = pipes.invoiced("GET", "/payments", params={"include": "applied_to"})
    return [p for p in payments if any(s.get("invoice") == invoice["id"] for s in p["applied_to"])]


def test_outstanding_invoices_arrive_to_the_cent_and_paid_ones_do_not(pipelines: Pipelines) -> None:
    pipelines.run_import()

    invoices = {i["number"]: i for i in pipelines.invoiced("GET", "/invoices")}
    assert set(invoices) == OUTSTANDING
    for number, invoice in invoices.items():
        qbo = pipelines.qbo_invoice(number)
        assert (invoice["total"], invoice["balance"]) == (qbo["TotalAmt"], qbo["Balance"]), number
        assert (day(invoice["date"]), day(invoice["due_date"])) == (qbo["TxnDate"], qbo["DueDate"]), number
        assert invoice["metadata"][METADATA_KEY] == qbo["Id"]
        status = pipelines.invoiced("GET", f"/invoices/{invoice['id']}/accounting_sync_status")
        assert (status["accounting_system"], status["accounting_id"]) == ("quickbooks_online", qbo["Id"])
        mapped = pipelines.store.find_by_qbo_id(COMPANY, "invoice", [qbo["Id"]])[qbo["Id"]]
        assert (mapped.invoiced_id, mapped.origin) == (str(invoice["id"]), ORIGIN_QUICKBOOKS)

    lines = invoices["1004"]["items"]  # Diego: 2 x Consulting, 1 x Hosting
    assert [(i["name"], i["description"], i["quantity"], i["unit_cost"]) for i in lines] == [
        ("Consulting", "Consulting", 2, 150), ("Hosting", "Hosting", 1, 49.99)
    ]
    assert [d["amount"] for d in invoices["1006"]["discounts"]] == [115]  # 10% of 1150
    assert [t["amount"] for t in invoices["1007"]["taxes"]] == [8.25]  # California tax on the widgets


def test_a_partly_paid_invoice_arrives_with_the_quickbooks_balance(pipelines: Pipelines) -> None:
    pipelines.run_import()

    invoice = pipelines.invoiced_invoice("1002")
    qbo = pipelines.qbo_invoice("1002")
    assert invoice["balance"] == qbo["Balance"] < invoice["total"]
    [payment] = payments_on(pipelines, invoice)
    assert payment["source"] == "accounting_system"
    assert payment["amount"] == round(qbo["TotalAmt"] - qbo["Balance"], 2)
    assert pipelines.invoiced("GET", f"/payments/{payment['id']}/accounting_sync_status")["accounting_system"] == (
        "quickbooks_online"
    )


def test_payments_in_quickbooks_lower_the_balance_and_paid_in_full_closes(pipelines: Pipelines) -> None:
    pipelines.run_import()
    pipelines.qbo_pay(pipelines.qbo_invoice("1001"), 200)
    pipelines.qbo_pay(pipelines.qbo_invoice("1010"), 500)

    pipelines.run_import()

    partly = pipelines.invoiced_invoice("1001")
    assert (partly["balance"], partly["status"]) == (400, "past_due")
    paid = pipelines.invoiced_invoice("1010")
    assert (paid["balance"], paid["paid"], paid["closed"], paid["status"]) == (0, True, True, "paid")
    assert [p["amount"] for p in payments_on(pipelines, paid)] == [500]


def test_an_edit_in_quickbooks_is_carried_over_to_the_open_invoice(pipelines: Pipelines) -> None:
    pipelines.run_import()
    qbo = pipelines.qbo_invoice("1012")
    pipelines.qbo("POST", "invoice", json={
        "Id": qbo["Id"], "SyncToken": qbo["SyncToken"], "sparse": True, "CustomerMemo": {"value": "Net 15, please"},
        "Line": [*qbo["Line"][:1], {"DetailType": "SalesItemLineDetail", "Amount": 50, "Description": "Rush fee",
                                    "SalesItemLineDetail": {"ItemRef": qbo["Line"][0]["SalesItemLineDetail"]["ItemRef"],
                                                            "Qty": 1, "UnitPrice": 50}}],
    })

    job = pipelines.run_import()

    invoice = pipelines.invoiced_invoice("1012")
    assert (invoice["notes"], invoice["total"], invoice["balance"]) == ("Net 15, please", 200, 200)
    assert [item["description"] for item in invoice["items"]] == ["Consulting", "Rush fee"]
    assert job.counts_dict()["invoice"]["updated"] == 1


def test_voided_in_quickbooks_voids_it_on_invoiced(pipelines: Pipelines) -> None:
    pipelines.run_import()
    # 1002 was partly paid in QBO: QBO only voids it once that payment is gone.
    qbo = pipelines.qbo_invoice("1002")
    payment_id = qbo["LinkedTxn"][0]["TxnId"]
    payment = pipelines.qbo("GET", f"payment/{payment_id}")["Payment"]
    pipelines.qbo("POST", "payment", params={"operation": "delete"},
                  json={"Id": payment_id, "SyncToken": payment["SyncToken"]})
    qbo = pipelines.qbo_invoice("1002")
    pipelines.qbo("POST", "invoice", params={"operation": "void"}, json={"Id": qbo["Id"], "SyncToken": qbo["SyncToken"]})

    job = pipelines.run_import()

    invoice = pipelines.invoiced_invoice("1002")
    assert (invoice["status"], invoice["balance"]) == ("voided", 0)
    assert [p["voided"] for p in payments_on(pipelines, invoice)] in ([], [True])
    assert job.counts_dict()["invoice"]["voided"] == 1
    pipelines.boxes.reset_stats()
    pipelines.run_import()
    assert pipelines.invoiced_writes() == []


def test_deleted_in_quickbooks_voids_it_on_invoiced(pipelines: Pipelines) -> None:
    pipelines.run_import()
    qbo = pipelines.qbo_invoice("1013")
    pipelines.qbo("POST", "invoice", params={"operation": "delete"},
                  json={"Id": qbo["Id"], "SyncToken": qbo["SyncToken"]})

    pipelines.run_import()

    assert pipelines.invoiced_invoice("1013")["status"] == "voided"


def test_a_failed_record_is_reported_with_its_number_and_retried_next_run(pipelines: Pipelines) -> None:
    customer = pipelines.invoiced("POST", "/customers", json={"name": "Someone Else"})
    clash = pipelines.invoiced("POST", "/invoices", json={
        "customer": customer["id"], "number": "1005", "items": [{"name": "Other", "unit_cost": 1}],
    })

    with pytest.raises(ImportFailed, match=r"invoice 1005: \[invoiced_400\] The given invoice number has already"):
        pipelines.run_import()

    assert {i["number"] for i in pipelines.invoiced("GET", "/invoices")} == OUTSTANDING  # the others came over
    [error] = pipelines.store.open_errors(COMPANY, "qbo_import")
    assert (error.document_number, error.hint is not None) == ("1005", True)

    pipelines.invoiced("PATCH", f"/invoices/{clash['id']}", json={"number": "OTHER-1005"})
    pipelines.run_import()
    assert pipelines.store.open_errors(COMPANY, "qbo_import") == []
    assert pipelines.invoiced_invoice("1005")["total"] == pipelines.qbo_invoice("1005")["TotalAmt"]


def test_dry_run_writes_nothing(pipelines: Pipelines) -> None:
    job = pipelines.run_import(dry_run=True)

    assert pipelines.invoiced_writes() == []
    assert job.counts_dict()["invoice"] == {"would_create": len(OUTSTANDING)}
    assert pipelines.store.get_cursor(COMPANY, "qbo_import.invoices") is None
    assert pipelines.store.count_mappings(COMPANY, "invoice") == 0
