"""Credit notes, refunds and convenience fees from Invoiced to QBO, end to end: each test
writes on the Invoiced sandbox, runs qbo_sync, and reads both sandboxes back to the cent;
a second run writes nothing."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
import requests

from accounting_sync.store.facade import StateStore
from accounting_sync.tie_out.step import tie_out
from tests.e2e.import_harness import Pipelines
from tests.support.books import money
from tests.support.sandboxes import Sandboxes, run_sync, sync_job

WRITES = {"created", "updated", "voided", "deleted"}


@pytest.fixture
def books(boxes: Sandboxes, store: StateStore) -> Sandboxes:
    """An empty Invoiced account and QBO company, connected, no faults."""
    boxes.reset(seed_invoiced=False)
    boxes.faults("qbo", probability=0, kinds=[])
    boxes.faults("invoiced", probability=0, kinds=[])
    boxes.connect(store)
    return boxes


def write(boxes: Sandboxes, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    response = requests.request(method, f"{boxes.invoiced_url}{path}", json=body,
                                auth=(boxes.invoiced_info["api_key"], ""), timeout=10)
    response.raise_for_status()
    return response.json() if response.content else None


def document(boxes: Sandboxes, path: str, customer: int, amount: float, name: str = "Service") -> dict[str, Any]:
    return dict(write(boxes, "POST", path, {"customer": customer, "items": [{"name": name, "unit_cost": amount}]}))


def apply_credit_note(boxes: Sandboxes, note: dict[str, Any], invoice: dict[str, Any], amount: float) -> Any:
    return write(boxes, "POST", "/payments", {"customer": note["customer"], "amount": 0, "applied_to": [
        {"type": "credit_note", "credit_note": note["id"], "invoice": invoice["id"], "document_type": "invoice",
         "amount": amount}]})


def later(boxes: Sandboxes) -> None:
    boxes.invoiced_clock(advance_seconds=3600)


def synced(boxes: Sandboxes, store: StateStore, run_id: str) -> dict[str, dict[str, int]]:
    """A sync, then the product's own full tie-out, which must find the books matching."""
    counts, failure = run_sync(sync_job(boxes, store, run_id))
    assert failure is None, failure
    result = tie_out(sync_job(boxes, store, f"{run_id}-tie-out"), full=True)
    assert result.differences == [], (result.summary(), result.differences)
    assert result.receivable_invoiced == result.receivable_qbo
    return counts


def writes(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {kind: {k: v for k, v in outcome.items() if k in WRITES} for kind, outcome in counts.items()
            if WRITES & outcome.keys()}


def qbo_row(boxes: Sandboxes, entity: str, marker: str) -> dict[str, Any]:
    [row] = [r for r in boxes.qbo_rows(entity) if re.search(rf"{marker}\b", r.get("PrivateNote", ""))]
    return row


def balance(boxes: Sandboxes, path: str, record: dict[str, Any]) -> Decimal:
    return money(boxes.invoiced(f"{path}/{record['id']}")["balance"])


def test_credit_notes_applied_and_left_as_credit_match_in_both_books(books: Sandboxes, store: StateStore) -> None:
    customer = write(books, "POST", "/customers", {"name": "Credit Customer"})["id"]
    first = document(books, "/invoices", customer, 100)
    second = document(books, "/invoices", customer, 80)
    written_off = document(books, "/invoices", customer, 40)
    applied = document(books, "/credit_notes", customer, 30, "Returned goods")
    credit = document(books, "/credit_notes", customer, 25, "Goodwill")
    apply_credit_note(books, applied, first, 30)
    write(books, "POST", f"/invoices/{written_off['id']}/bad_debt")

    counts = synced(books, store, "first")

    assert counts["credit_note"]["created"] == 2 and counts["credit_note"]["skipped"] == 1  # the write-off's
    assert counts["bad_debt"] == {"created": 1}
    assert money(qbo_row(books, "Invoice", f"Invoiced invoice {first['id']}")["Balance"]) == balance(
        books, "/invoices", first) == Decimal("70.00")
    assert money(qbo_row(books, "Invoice", f"Invoiced invoice {second['id']}")["Balance"]) == Decimal("80.00")
    memo = qbo_row(books, "CreditMemo", f"Invoiced credit note {applied['id']}")
    assert (money(memo["TotalAmt"]), money(memo["RemainingCredit"])) == (Decimal("30.00"), Decimal("0.00"))
    assert balance(books, "/credit_notes", applied) == 0
    left = qbo_row(books, "CreditMemo", f"Invoiced credit note {credit['id']}")
    assert money(left["RemainingCredit"]) == balance(books, "/credit_notes", credit) == Decimal("25.00")
    [zero] = [p for p in books.qbo_rows("Payment") if money(p["TotalAmt"]) == 0 and "Invoiced payment" in p["PrivateNote"]]
    assert {link["TxnType"] for line in zero["Line"] for link in line["LinkedTxn"]} == {"Invoice", "CreditMemo"}
    assert len(books.qbo_rows("CreditMemo")) == 3  # two credit notes and one write-off, never the write-off twice
    [qbo_customer] = books.qbo_rows("Customer")
    assert money(qbo_customer["Balance"]) == Decimal("70.00") + Decimal("80.00") - Decimal("25.00")

    later(books)
    assert writes(synced(books, store, "second")) == {}


def test_a_voided_credit_note_is_unapplied_and_deleted_in_qbo(books: Sandboxes, store: StateStore) -> None:
    customer = write(books, "POST", "/customers", {"name": "Void Customer"})["id"]
    invoice = document(books, "/invoices", customer, 80)
    applied = document(books, "/credit_notes", customer, 20)
    unapplied = document(books, "/credit_notes", customer, 15)
    application = apply_credit_note(books, applied, invoice, 20)
    synced(books, store, "first")
    assert money(qbo_row(books, "Invoice", f"Invoiced invoice {invoice['id']}")["Balance"]) == Decimal("60.00")

    later(books)
    write(books, "DELETE", f"/payments/{application['id']}")
    write(books, "POST", f"/credit_notes/{applied['id']}/void")
    write(books, "POST", f"/credit_notes/{unapplied['id']}/void")
    gone = qbo_row(books, "CreditMemo", f"Invoiced credit note {unapplied['id']}")  # as if a run stopped after
    books.qbo("creditmemo", "POST", {"Id": gone["Id"], "SyncToken": gone["SyncToken"]}, operation="delete")
    counts = synced(books, store, "second")

    assert counts["payment"]["voided"] == 1 and counts["credit_note"]["deleted"] == 2
    assert books.qbo_rows("CreditMemo") == []
    assert money(qbo_row(books, "Invoice", f"Invoiced invoice {invoice['id']}")["Balance"]) == balance(
        books, "/invoices", invoice) == Decimal("80.00")
    assert money(books.qbo_rows("Customer")[0]["Balance"]) == Decimal("80.00")
    later(books)
    assert writes(synced(books, store, "third")) == {}


def test_a_refund_of_a_payment_is_a_refund_receipt_and_cash_matches(books: Sandboxes, store: StateStore) -> None:
    customer = write(books, "POST", "/customers", {"name": "Refund Customer"})["id"]
    invoice = document(books, "/invoices", customer, 50)
    payment = write(books, "POST", "/payments", {"customer": customer, "amount": 50, "method": "check", "applied_to": [
        {"type": "invoice", "invoice": invoice["id"], "amount": 50}]})
    synced(books, store, "first")
    later(books)
    split = books.invoiced(f"/payments/{payment['id']}", include="applied_to")["applied_to"][0]["id"]
    refund = write(books, "POST", f"/transactions/{split}/refunds", {"amount": 20.45})

    counts = synced(books, store, "second")

    assert counts["refund"] == {"created": 1}
    receipt = qbo_row(books, "RefundReceipt", f"Invoiced refund {refund['id']}")
    assert money(receipt["TotalAmt"]) == money(refund["amount"]) == Decimal("20.45")
    assert receipt["DepositToAccountRef"]["name"] == "Undeposited Funds"
    [item] = books.qbo_rows("Item", "Name = 'Invoiced Refund'")
    assert receipt["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"] == item["Id"]
    [income] = books.qbo_rows("Account", f"Id = '{item['IncomeAccountRef']['value']}'")
    assert income["Name"] == "Invoiced Refunds"
    paid = qbo_row(books, "Payment", f"Invoiced payment {payment['id']}")
    cash_in_qbo = money(paid["TotalAmt"]) - money(receipt["TotalAmt"])
    assert cash_in_qbo == money(payment["amount"]) - money(refund["amount"]) == Decimal("29.55")
    assert money(qbo_row(books, "Invoice", f"Invoiced invoice {invoice['id']}")["Balance"]) == 0
    assert balance(books, "/invoices", invoice) == 0
    later(books)
    assert writes(synced(books, store, "third")) == {}


def test_a_refund_of_a_credit_note_pays_cash_out_and_spends_its_credit_memo(
    books: Sandboxes, store: StateStore
) -> None:
    customer = write(books, "POST", "/customers", {"name": "Credit Refund Customer"})["id"]
    invoice = document(books, "/invoices", customer, 90)
    note = document(books, "/credit_notes", customer, 60, "Returned goods")
    apply_credit_note(books, note, invoice, 25)
    synced(books, store, "first")
    later(books)
    refund = write(books, "POST", "/transactions", {"type": "refund", "credit_note": note["id"], "amount": 35,
                                                    "method": "check"})

    counts = synced(books, store, "second")

    assert counts["refund"] == {"created": 1}
    assert counts["refund_invoice"] == {"created": 1} and counts["refund_payment"] == {"created": 1}
    receipt = qbo_row(books, "RefundReceipt", f"Invoiced refund {refund['id']}")
    assert money(receipt["TotalAmt"]) == Decimal("35.00")
    memo = qbo_row(books, "CreditMemo", f"Invoiced credit note {note['id']}")
    assert money(memo["RemainingCredit"]) == balance(books, "/credit_notes", note) == 0
    carried = qbo_row(books, "Invoice", f"Invoiced refund {refund['id']} of credit note")
    assert (money(carried["TotalAmt"]), money(carried["Balance"])) == (Decimal("35.00"), 0)
    assert money(qbo_row(books, "Invoice", f"Invoiced invoice {invoice['id']}")["Balance"]) == balance(
        books, "/invoices", invoice) == Decimal("65.00")
    assert money(books.qbo_rows("Customer")[0]["Balance"]) == Decimal("65.00")
    later(books)
    assert writes(synced(books, store, "third")) == {}


def test_a_convenience_fee_is_an_invoice_of_its_own_and_leaves_no_credit(books: Sandboxes, store: StateStore) -> None:
    customer = write(books, "POST", "/customers", {"name": "Fee Customer"})["id"]
    invoice = document(books, "/invoices", customer, 120.10)
    fee = Decimal("3.65")
    payment = write(books, "POST", "/payments", {
        "customer": customer, "amount": float(Decimal("120.10") + fee), "method": "credit_card",
        "applied_to": [{"type": "invoice", "invoice": invoice["id"], "amount": 120.10},
                       {"type": "convenience_fee", "amount": float(fee)}]})

    counts = synced(books, store, "first")

    assert counts["fee"] == {"created": 1} and counts["payment"] == {"created": 1}
    paid = qbo_row(books, "Payment", f"Invoiced payment {payment['id']}")
    assert (money(paid["TotalAmt"]), money(paid["UnappliedAmt"])) == (money(payment["amount"]), 0)
    fee_invoice = qbo_row(books, "Invoice", f"Invoiced convenience fee of payment {payment['id']}")
    assert (money(fee_invoice["TotalAmt"]), money(fee_invoice["Balance"])) == (fee, 0)
    [product] = books.qbo_rows("Item", "Name = 'Convenience Fee'")
    assert fee_invoice["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"] == product["Id"]
    [income] = books.qbo_rows("Account", f"Id = '{product['IncomeAccountRef']['value']}'")
    assert income["Name"] == "Convenience Fee Income"
    assert money(qbo_row(books, "Invoice", f"Invoiced invoice {invoice['id']}")["Balance"]) == 0
    assert money(books.qbo_rows("Customer")[0]["Balance"]) == 0
    later(books)
    assert writes(synced(books, store, "second")) == {}


def test_lost_answers_and_transient_faults_write_every_new_document_once(
    books: Sandboxes, store: StateStore
) -> None:
    """Credit memos, their $0 payments, fee invoices and refund receipts go through the
    journal and requestids like invoices: answers lost after a commit never duplicate."""
    customer = write(books, "POST", "/customers", {"name": "Faulty Customer"})["id"]
    notes = []
    for number in range(4):
        invoice = document(books, "/invoices", customer, 60 + number)
        note = document(books, "/credit_notes", customer, 10 + number)
        apply_credit_note(books, note, invoice, 10 + number)
        notes.append(note)
        write(books, "POST", "/payments", {"customer": customer, "amount": 52.5, "method": "credit_card",
                                           "applied_to": [{"type": "invoice", "invoice": invoice["id"], "amount": 50},
                                                          {"type": "convenience_fee", "amount": 2.5}]})
    paid = document(books, "/invoices", customer, 30)
    payment = write(books, "POST", "/payments", {"customer": customer, "amount": 30, "applied_to": [
        {"type": "invoice", "invoice": paid["id"], "amount": 30}]})
    split = books.invoiced(f"/payments/{payment['id']}", include="applied_to")["applied_to"][0]["id"]
    write(books, "POST", f"/transactions/{split}/refunds", {"amount": 5})
    books.faults("qbo", probability=0.5, kinds=["drop", "500", "429", "5010"], seed=11)
    failure: Exception | None = None
    for attempt in range(6):
        _, failure = run_sync(sync_job(books, store, f"faulty-{attempt}", throttle_wait_seconds=0.2))
        if failure is None:
            break
    books.faults("qbo", probability=0, kinds=[])
    assert failure is None, failure

    assert len(books.qbo_rows("CreditMemo")) == 4 and len(books.qbo_rows("RefundReceipt")) == 1
    fees = [r for r in books.qbo_rows("Invoice") if "convenience fee" in r.get("PrivateNote", "")]
    assert len(fees) == 4 and all(money(r["Balance"]) == 0 for r in fees)
    payments = [p.get("PrivateNote") for p in books.qbo_rows("Payment")]
    assert len(payments) == len(set(payments)) == 9
    for note in notes:
        assert money(qbo_row(books, "CreditMemo", f"Invoiced credit note {note['id']}")["RemainingCredit"]) == 0
    assert money(books.qbo_rows("Customer")[0]["Balance"]) == sum(
        (money(i["balance"]) for i in books.invoiced_all("/invoices")), Decimal(0))


def test_an_open_fee_invoice_is_never_imported_back(books: Sandboxes, store: StateStore) -> None:
    """A fee invoice whose payment could not be written stays open in QBO: qbo_import,
    which imports open QBO invoices, must know it as written by qbo_sync."""
    customer = write(books, "POST", "/customers", {"name": "Open Fee Customer"})["id"]
    invoice = document(books, "/invoices", customer, 100)
    synced(books, store, "first")
    in_qbo = qbo_row(books, "Invoice", f"Invoiced invoice {invoice['id']}")
    books.qbo("payment", "POST", {"CustomerRef": in_qbo["CustomerRef"], "TotalAmt": 100, "Line": [
        {"Amount": 100, "LinkedTxn": [{"TxnId": in_qbo["Id"], "TxnType": "Invoice"}]}]})  # paid in QBO too
    later(books)
    write(books, "POST", "/payments", {"customer": customer, "amount": 103, "applied_to": [
        {"type": "invoice", "invoice": invoice["id"], "amount": 100}, {"type": "convenience_fee", "amount": 3}]})
    counts, failure = run_sync(sync_job(books, store, "second"))
    assert failure is not None and counts["payment"] == {"failed": 1} and counts["fee"] == {"created": 1}
    assert money(qbo_row(books, "Invoice", "Invoiced convenience fee of payment")["Balance"]) == 3

    Pipelines(books, store).run_import()

    assert [i["id"] for i in books.invoiced_all("/invoices")] == [invoice["id"]]


def test_with_credit_notes_turned_off_none_is_written(books: Sandboxes, store: StateStore) -> None:
    store.put_settings("default", {"write_credit_notes": False})
    customer = write(books, "POST", "/customers", {"name": "Quiet Books Ltd"})["id"]
    document(books, "/invoices", customer, 40)
    document(books, "/credit_notes", customer, 15, "Goodwill")

    counts, failure = run_sync(sync_job(books, store, "first"))

    assert failure is None, failure
    assert "created" not in counts.get("credit_note", {}) and books.qbo_rows("CreditMemo") == []  # not even read
    assert len(books.qbo_rows("Invoice")) == 1


def test_a_credit_memo_edited_in_qbo_is_found_by_the_tie_out(books: Sandboxes, store: StateStore) -> None:
    customer = write(books, "POST", "/customers", {"name": "Edited Credit Ltd"})["id"]
    document(books, "/invoices", customer, 60)
    credit = document(books, "/credit_notes", customer, 20, "Goodwill")
    synced(books, store, "first")
    memo = qbo_row(books, "CreditMemo", f"Invoiced credit note {credit['id']}")
    extra = {"DetailType": "SalesItemLineDetail", "Amount": 5.0,
             "SalesItemLineDetail": {"ItemRef": memo["Line"][0]["SalesItemLineDetail"]["ItemRef"], "Qty": 1, "UnitPrice": 5.0}}
    lines = [line for line in memo["Line"] if line.get("DetailType") != "SubTotalLineDetail"]
    books.qbo("creditmemo", method="POST", body={**memo, "Line": [*lines, extra]})

    result = tie_out(sync_job(books, store, "check"), full=True)

    memo_diffs = [d for d in result.differences if d.number.startswith("credit note ")]
    assert result.credit_memos == 1 and len(memo_diffs) == 1
    assert memo_diffs[0].explanation == "changed in QuickBooks after the sync"
    assert memo_diffs[0].qbo == "total 25.00, open 25.00"
