"""The tie-out: after a sync, both ledgers are compared invoice by invoice, and books
broken on purpose are found and explained (in money, with the reason), while intact
books report "Books match" with the exact open total of both sides."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests

from accounting_sync.common.values import money
from accounting_sync.store.facade import StateStore
from accounting_sync.tie_out import compare
from accounting_sync.tie_out.compare import TieOut
from accounting_sync.tie_out.resync import request_resync
from accounting_sync.tie_out.step import tie_out
from tests.support.sandboxes import Sandboxes, run_sync, sync_job


def synced_with_tie_out(boxes: Sandboxes, store: StateStore, run_id: str, full: bool = False) -> TieOut:
    """A qbo_sync run as the DAG runs it: ... load, tie_out, report."""
    from accounting_sync.qbo_sync import pipeline as sync

    job = sync_job(boxes, store, run_id)
    sync.extract(job)
    sync.transform(job)
    sync.load(job)
    result = tie_out(job, full)
    try:
        sync.report(job)
    except sync.SyncFailed:
        pass
    return result


@pytest.fixture
def synced(seeded: Sandboxes, store: StateStore) -> Sandboxes:
    assert run_sync(sync_job(seeded, store, "first"))[1] is None
    return seeded


def open_in_qbo(boxes: Sandboxes, store: StateStore) -> tuple[int, Decimal]:
    linked = {m.qbo_id for m in store.get_mappings("default", "invoice").values()}
    rows = [row for row in boxes.qbo_rows("Invoice") if row["Id"] in linked]
    return len(rows), sum((money(row["Balance"]) for row in rows), Decimal("0.00"))


def mapped_invoice(boxes: Sandboxes, store: StateStore, paid: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """An open Invoiced invoice (with or without a payment) and its QBO row."""
    mappings = store.get_mappings("default", "invoice")
    rows = {row["Id"]: row for row in boxes.qbo_rows("Invoice")}
    for invoice in boxes.invoiced_all("/invoices", include="amount_paid"):
        mapping = mappings.get(str(invoice["id"]))
        if mapping and invoice["status"] not in {"voided", "bad_debt"} and not invoice["closed"] and invoice["balance"] > 0:
            if bool(invoice.get("amount_paid")) == paid:
                return invoice, rows[mapping.qbo_id]
    raise AssertionError("no such invoice in the demo books")


def with_extra_line(row: dict[str, Any], amount: float) -> dict[str, Any]:
    """A QBO invoice as someone editing it in QuickBooks saves it: one more line of ``amount``."""
    item = row["Line"][0]["SalesItemLineDetail"]["ItemRef"]
    extra = {"DetailType": "SalesItemLineDetail", "Amount": amount,
             "SalesItemLineDetail": {"ItemRef": item, "Qty": 1, "UnitPrice": amount}}
    return {**row, "Line": [*(ln for ln in row["Line"] if ln.get("DetailType") != "SubTotalLineDetail"), extra]}


def only_difference(result: TieOut, number: str) -> compare.Difference:
    assert [d.number for d in result.differences] == [number], result.summary()
    return result.differences[0]


def test_intact_books_match_with_the_exact_totals_of_both_sides(synced: Sandboxes, store: StateStore) -> None:
    full = synced_with_tie_out(synced, store, "second", full=True)
    count, open_total = open_in_qbo(synced, store)
    incremental = synced_with_tie_out(synced, store, "third")

    payments = len(store.get_mappings("default", "payment"))

    assert full.full and full.differences == [] and full.checked == count and full.payments == payments > 0
    assert full.open_invoiced == full.open_qbo == open_total
    assert full.summary().startswith(
        f"Books match: {count:,} invoices and {payments:,} payments, ${open_total:,.2f} open on both sides"
    )
    assert full.receivable_invoiced == full.receivable_qbo is not None
    assert f"accounts receivable ${full.receivable_qbo:,.2f} on Invoiced" in full.summary()
    assert full.qbo_reads == 2  # a page of invoices and one of customers: the invoices vouch for every payment
    assert not incremental.full and incremental.differences == [] and incremental.qbo_reads == 1  # one CDC read
    run = store.recent_runs("default", limit=1)[0]
    assert "Books match" in str(store.tie_out_of_run("default", run.dag_id, run.run_id).summary)


def test_an_invoice_edited_in_quickbooks_is_found_by_the_next_incremental_tie_out(
    synced: Sandboxes, store: StateStore
) -> None:
    synced_with_tie_out(synced, store, "baseline", full=True)
    invoice, row = mapped_invoice(synced, store, paid=False)
    synced.qbo("invoice", method="POST", body=with_extra_line(row, 10.0))

    result = synced_with_tie_out(synced, store, "after-edit")

    diff = only_difference(result, invoice["number"])
    assert diff.explanation == compare.CHANGED and "edited in QuickBooks" in diff.detail
    assert result.open_qbo - result.open_invoiced == Decimal("10.00")
    assert result.unexplained == []


def test_re_sync_writes_the_invoiced_version_over_an_edit_made_in_quickbooks(synced: Sandboxes, store: StateStore) -> None:
    synced_with_tie_out(synced, store, "baseline", full=True)
    invoice, row = mapped_invoice(synced, store, paid=False)
    synced.qbo("invoice", method="POST", body=with_extra_line(row, 7.0))
    found = synced_with_tie_out(synced, store, "after-edit")
    assert only_difference(found, invoice["number"]).resync

    assert request_resync(store, "default", str(invoice["id"]), invoice["number"], "olivia")
    restored = synced_with_tie_out(synced, store, "resynced")

    assert restored.differences == [], restored.summary()
    assert store.open_errors("default", "qbo_sync") == []
    after = next(r for r in synced.qbo_rows("Invoice") if r["Id"] == row["Id"])
    assert money(after["TotalAmt"]) == money(row["TotalAmt"])
    assert not request_resync(store, "default", "no-such-invoice", "X", "olivia")


@pytest.mark.parametrize("full", [False, True], ids=["incremental", "full"])
def test_a_payment_deleted_in_quickbooks_is_explained(synced: Sandboxes, store: StateStore, full: bool) -> None:
    """The incremental tie-out hears of the deletion from CDC; the full one sees the payment
    missing from its invoice's LinkedTxn, so its invoice no longer vouches for it and it is
    read by id."""
    synced_with_tie_out(synced, store, "baseline", full=True)
    invoice, row = mapped_invoice(synced, store, paid=True)
    payment_id = next(link["TxnId"] for link in row["LinkedTxn"] if link["TxnType"] == "Payment")
    payment = synced.qbo(f"payment/{payment_id}")["Payment"]
    synced.qbo("payment", method="POST", body={"Id": payment_id, "SyncToken": payment["SyncToken"]}, operation="delete")

    result = synced_with_tie_out(synced, store, "after-delete", full=full)

    mapped = next(m for m in store.get_mappings("default", "payment").values() if m.qbo_id == payment_id)
    reference = synced.invoiced(f"/payments/{mapped.invoiced_id}").get("reference") or mapped.invoiced_id
    assert [d.number for d in result.differences] == [invoice["number"], f"payment {reference}"], result.summary()
    on_invoice, on_payment = result.differences
    assert on_invoice.explanation == compare.UNAPPLIED and f"QuickBooks payment {payment_id}" in on_invoice.detail
    assert (on_payment.explanation, on_payment.detail, on_payment.qbo) == (compare.CHANGED, "deleted in QuickBooks", "deleted")
    assert (on_payment.object_type, on_payment.invoiced_id, on_payment.qbo_id) == ("payment", mapped.invoiced_id, payment_id)
    # incremental: the deletion came with the change-data-capture read; full: a page of
    # invoices, one of customers, and the one payment its invoice no longer vouches for
    assert result.qbo_reads == (3 if full else 1)


def synced_payment(boxes: Sandboxes, store: StateStore, skip: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """A payment qbo_sync wrote (applied to invoices only) and its QBO row."""
    rows = {row["Id"]: row for row in boxes.qbo_rows("Payment")}
    found = [
        (payment, rows[mapping.qbo_id])
        for mapping in store.get_mappings("default", "payment").values()
        if (payment := boxes.invoiced(f"/payments/{mapping.invoiced_id}", include="applied_to"))
        and not payment["voided"] and {s["type"] for s in payment["applied_to"]} == {"invoice"}
    ]
    return found[skip]


def test_a_payment_voided_on_invoiced_ties_out_and_one_edited_in_quickbooks_is_explained(
    synced: Sandboxes, store: StateStore
) -> None:
    synced.qbo_clock(advance_seconds=3600)  # the first sync's writes are older than the tie-outs' overlap
    synced_with_tie_out(synced, store, "baseline", full=True)
    voided, _ = synced_payment(synced, store)
    edited, row = synced_payment(synced, store, skip=1)
    requests.delete(f"{synced.invoiced_url}/payments/{voided['id']}", auth=(synced.invoiced_info["api_key"], ""),
                    timeout=10).raise_for_status()
    synced.qbo("payment", method="POST", body={**row, "TotalAmt": float(money(row["TotalAmt"]) + 10)})

    result = synced_with_tie_out(synced, store, "after")

    diff = only_difference(result, f"payment {edited.get('reference') or edited['id']}")
    assert diff.explanation == compare.CHANGED and "edited in QuickBooks" in diff.detail
    assert "unapplied 10.00" in diff.qbo and "unapplied 0.00" in diff.invoiced
    assert result.payments == 2  # both came with the change-data-capture read: voided on both sides, and edited
    assert result.qbo_reads <= 2  # that read, and the invoices the run read again on Invoiced, by id


def test_a_tie_out_beyond_the_reach_of_change_data_capture_reads_by_queries(
    synced: Sandboxes, store: StateStore
) -> None:
    synced_with_tie_out(synced, store, "baseline", full=True)
    invoice, row = mapped_invoice(synced, store, paid=False)
    synced.qbo_clock(advance_seconds=31 * 86400)
    synced.qbo("invoice", method="POST", body=with_extra_line(row, 10.0))

    result = tie_out(sync_job(synced, store, "a-month-later"))

    diff = only_difference(result, invoice["number"])
    assert not result.full and diff.explanation == compare.CHANGED
    assert result.qbo_reads == 3  # CDC refused the moment; a changed-since query of invoices, one of payments


def test_a_credit_memo_applied_by_hand_in_quickbooks_is_explained(synced: Sandboxes, store: StateStore) -> None:
    synced_with_tie_out(synced, store, "baseline", full=True)
    invoice, row = mapped_invoice(synced, store, paid=False)
    item = row["Line"][0]["SalesItemLineDetail"]["ItemRef"]
    memo = synced.qbo("creditmemo", method="POST", body={
        "CustomerRef": row["CustomerRef"],
        "Line": [{"DetailType": "SalesItemLineDetail", "Amount": 5.0, "SalesItemLineDetail": {"ItemRef": item, "Qty": 1, "UnitPrice": 5.0}}],
    })["CreditMemo"]
    synced.qbo("payment", method="POST", body={
        "CustomerRef": row["CustomerRef"],
        "TotalAmt": 0,
        "Line": [
            {"Amount": 5.0, "LinkedTxn": [{"TxnId": row["Id"], "TxnType": "Invoice"}]},
            {"Amount": 5.0, "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]},
        ],
    })

    result = synced_with_tie_out(synced, store, "after-memo")

    diff = only_difference(result, invoice["number"])
    assert diff.explanation == compare.BY_HAND
    assert result.open_invoiced - result.open_qbo == Decimal("5.00")


@pytest.mark.parametrize("ignore", [False, True], ids=["failed", "ignored"])
def test_a_change_that_failed_or_was_ignored_is_not_synced_yet(synced: Sandboxes, store: StateStore, ignore: bool) -> None:
    invoice, _ = mapped_invoice(synced, store, paid=False)
    requests.post(f"{synced.qbo_url}/_sandbox/close-books", json={"date": "2099-12-31"}, timeout=10).raise_for_status()
    items = [{"name": "Late fee", "quantity": 1, "unit_cost": 25}]
    requests.patch(
        f"{synced.invoiced_url}/invoices/{invoice['id']}",
        json={"items": [*synced.invoiced(f"/invoices/{invoice['id']}")["items"], *items]},
        auth=(synced.invoiced_info["api_key"], ""),
        timeout=10,
    ).raise_for_status()
    run_sync(sync_job(synced, store, "closed"))
    if ignore:
        store.ignore_record("default", "qbo_sync", "invoice", str(invoice["id"]), "olivia")

    result = synced_with_tie_out(synced, store, "check", full=True)

    diff = only_difference(result, invoice["number"])
    assert diff.explanation == compare.NOT_SYNCED
    assert ("ignored" in diff.detail) if ignore else diff.detail.startswith("failed:")


def test_an_unexplained_difference_fails_the_report_after_everything_else(synced: Sandboxes, store: StateStore) -> None:
    """A defect of the sync (here: an id map pointing at another invoice) is flagged."""
    from accounting_sync.qbo_sync import pipeline as sync

    mappings = store.get_mappings("default", "invoice")
    unpaid = [
        i for i in synced.invoiced_all("/invoices", include="amount_paid")
        if str(i["id"]) in mappings and not i.get("amount_paid") and i["status"] not in {"voided", "bad_debt"}
    ]
    other = next(i for i in unpaid if i["total"] != unpaid[0]["total"] and i["customer"] != unpaid[0]["customer"])
    first, second = mappings[str(unpaid[0]["id"])], mappings[str(other["id"])]
    store.put_mappings("default", "invoice", [first.__class__(**{**first.__dict__, "qbo_id": second.qbo_id, "sync_token": "99"})])
    job = sync_job(synced, store, "defect")
    sync.extract(job)
    sync.transform(job)
    sync.load(job)
    result = tie_out(job, full=True)

    with pytest.raises(sync.SyncFailed, match="unexplained difference"):
        sync.report(job)
    # The invoice, and the balances of both customers it now wrongly moves between.
    assert [d.number.startswith("customer ") for d in result.unexplained] == [False, True, True]
    assert store.recent_runs("default", limit=1)[0].state == "success"  # every record was synced


def test_imported_invoices_tie_out_and_a_payment_in_quickbooks_waits_for_the_next_import(pipelines: Any) -> None:
    job = pipelines.run_import()
    matched = tie_out(pipelines.job(), full=True)
    number = next(m for m in pipelines.store.get_mappings("default", "invoice").values() if m.origin == "quickbooks")
    invoice = next(row for row in pipelines.boxes.qbo_rows("Invoice") if row["Id"] == number.qbo_id)
    pipelines.qbo_pay(invoice, 1.0)

    paid_in_qbo = tie_out(pipelines.job())
    pipelines.run_import()
    after_import = tie_out(pipelines.job())

    assert job and matched.differences == [] and matched.checked > 0
    diff = only_difference(paid_in_qbo, invoice["DocNumber"])
    assert diff.explanation == compare.CHANGED and "next import" in diff.detail
    assert paid_in_qbo.open_invoiced - paid_in_qbo.open_qbo == Decimal("1.00")
    assert after_import.differences == [] and after_import.payments >= 1  # the payment it recorded, against QBO's


def test_customers_merged_into_one_quickbooks_customer_tie_out_as_one(seeded: Sandboxes, store: StateStore) -> None:
    store.put_settings("default", {"duplicate_customer_names": "merge"})
    assert run_sync(sync_job(seeded, store, "first"))[1] is None
    groups: dict[str, int] = {}
    for mapping in store.get_mappings("default", "customer").values():
        groups[mapping.qbo_id] = groups.get(mapping.qbo_id, 0) + 1

    result = synced_with_tie_out(seeded, store, "check", full=True)

    assert max(groups.values()) > 1, "the demo books have customers sharing a name"
    assert result.differences == [] and result.receivable_invoiced == result.receivable_qbo


def invoiced_write(boxes: Sandboxes, path: str, body: dict[str, Any]) -> Any:
    response = requests.post(f"{boxes.invoiced_url}{path}", json=body, auth=(boxes.invoiced_info["api_key"], ""),
                             timeout=10)
    response.raise_for_status()
    return response.json()


@pytest.mark.parametrize("override", ["honoured", "ignored"])
def test_a_tax_qbo_computed_differently_ast_profile(boxes: Sandboxes, store: StateStore, override: str) -> None:
    """An automated-sales-tax company whose engine ignores the tax sent (the sandbox's
    ``ast_override`` switch; Intuit's blog says it honours it): the load step reports the
    invoice QuickBooks totals otherwise, and the tie-out explains the gap as QuickBooks' tax."""
    boxes.reset(seed_invoiced=False)
    profile = {"country": "US", "automated_sales_tax": True, "ast_override": override}
    requests.post(f"{boxes.qbo_url}/_sandbox/company", json=profile, timeout=10).raise_for_status()
    boxes.connect(store)
    texan = invoiced_write(boxes, "/customers", {"name": "Lone Star Supply", "address1": "1 Congress Ave",
                                                 "city": "Austin", "state": "TX", "postal_code": "73301", "country": "US"})
    invoiced_write(boxes, "/invoices", {"customer": texan["id"], "number": "AST-1", "taxes": [{"amount": 8}],
                                        "items": [{"name": "Consulting", "quantity": 1, "unit_cost": 100}]})
    invoiced_write(boxes, "/credit_notes", {"customer": texan["id"], "number": "AST-CN-1", "taxes": [{"amount": 4}],
                                            "items": [{"name": "Goodwill", "quantity": 1, "unit_cost": 50}]})

    first = synced_with_tie_out(boxes, store, "first", full=True)
    again = synced_with_tie_out(boxes, store, "again")

    errors = store.open_errors("default", "qbo_sync")
    if override == "honoured":
        assert errors == [] and first.differences == [] and again.differences == [], first.summary()
        return
    by_number = {e.document_number: e for e in errors}
    assert {number: e.code for number, e in by_number.items()} == {"AST-1": "tax_total_differs",
                                                                    "AST-CN-1": "tax_total_differs"}
    assert "QuickBooks totals the invoice 106.25, 1.75 off Invoiced's total: it computed tax 6.25" in by_number["AST-1"].message
    assert "QuickBooks totals the credit note 53.13, 0.87 off" in by_number["AST-CN-1"].message
    assert all(e.hint and "automated sales tax" in e.hint for e in errors)
    for result in (first, again):
        assert [d.number for d in result.differences] == ["AST-1", "credit note AST-CN-1"], result.summary()
        invoice, memo = result.differences
        assert (invoice.explanation, invoice.detail) == (compare.TAX, "QuickBooks computed tax 6.25, Invoiced 8.00")
        assert (invoice.invoiced, invoice.qbo) == ("total 108.00, open 108.00 USD", "total 106.25, open 106.25 USD")
        assert (memo.explanation, memo.detail) == (compare.TAX, "QuickBooks computed tax 3.13, Invoiced 4.00")
        assert result.unexplained == []
    assert first.receivable_invoiced is not None and first.receivable_qbo is not None  # the customer's balance is
    assert first.receivable_qbo - first.receivable_invoiced == Decimal("-0.88")  # explained by the two lines
