"""qbo_sync into each kind of QuickBooks company the sandbox can be: the demo account is
synced and every invoice's total, tax, balance and currency agree to the cent on both
sides; a second run writes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests

from accounting_sync.store.facade import StateStore
from tests.e2e.test_sync_e2e import expected_balance, money, qbo_invoices_by_invoiced_id, writes
from tests.support.sandboxes import Sandboxes, run_sync, sync_job

PROFILES = {
    "us-ast": {"automated_sales_tax": True},
    "preferences-off": {"allow_discounts": False, "custom_txn_numbers": False, "duplicate_docnum_warning_only": True},
}


def invoiced_tax(invoice: dict[str, Any]) -> Decimal:
    document = sum((money(tax["amount"]) for tax in invoice.get("taxes") or []), Decimal(0))
    lines = sum((money(tax["amount"]) for line in invoice["items"] for tax in line.get("taxes") or []), Decimal(0))
    return money(document + lines)


@pytest.fixture(params=sorted(PROFILES))
def company(request: pytest.FixtureRequest, boxes: Sandboxes, store: StateStore) -> tuple[str, Sandboxes]:
    """The demo books on Invoiced, an empty QBO company of one kind, connected."""
    boxes.reset(seed_invoiced=True)
    requests.post(f"{boxes.qbo_url}/_sandbox/company", json=PROFILES[request.param], timeout=30).raise_for_status()
    boxes.faults("qbo", probability=0, kinds=[])
    boxes.faults("invoiced", probability=0, kinds=[])
    boxes.connect(store)
    boxes.reset_stats()
    return request.param, boxes


def test_demo_account_agrees_to_the_cent_in_each_kind_of_company(
    company: tuple[str, Sandboxes], store: StateStore
) -> None:
    profile, boxes = company
    counts, failure = run_sync(sync_job(boxes, store, "first"))
    assert failure is None, failure
    invoices = boxes.invoiced_all("/invoices", include="amount_written_off")
    eligible = {str(i["id"]): i for i in invoices if not i["draft"] and i["status"] != "voided"}
    in_qbo = qbo_invoices_by_invoiced_id(boxes)
    assert set(in_qbo) == set(eligible)
    for invoice_id, invoice in eligible.items():
        qbo = in_qbo[invoice_id]
        assert money(qbo["TotalAmt"]) == money(invoice["total"]), invoice["number"]
        assert money(qbo["TxnTaxDetail"].get("TotalTax", 0)) == invoiced_tax(invoice), invoice["number"]
        assert money(qbo["Balance"]) == expected_balance(invoice), invoice["number"]
        assert qbo["CurrencyRef"]["value"].lower() == invoice["currency"].lower()
    if profile == "us-ast":
        assert counts["invoice"]["tax_differs_from_automated"] > 0
        assert all(row["TxnTaxDetail"]["TxnTaxCodeRef"]["value"] not in ("TAX", "NON") for row in in_qbo.values())
        assert not [row for row in boxes.qbo_rows("TaxCode") if row.get("TaxCodeConfigType") == "USER_DEFINED"]
    else:
        assert not any(line["DetailType"] == "DiscountLineDetail" for row in in_qbo.values() for line in row["Line"])
        numbered = [row for row in in_qbo.values() if row["DocNumber"] != eligible_number(eligible, row)]
        assert numbered  # QBO numbered them itself; the Invoiced number is in the private note
        assert all(f"number {eligible_number(eligible, row)}" in row["PrivateNote"] for row in in_qbo.values())

    boxes.reset_stats()
    counts, failure = run_sync(sync_job(boxes, store, "second"))
    assert failure is None and writes(boxes) == 0
    assert len(qbo_invoices_by_invoiced_id(boxes)) == len(eligible)


def test_vat_company_refuses_invoices_with_a_clear_reason(boxes: Sandboxes, store: StateStore) -> None:
    boxes.reset(seed_invoiced=True)
    requests.post(f"{boxes.qbo_url}/_sandbox/company", json={"country": "GB"}, timeout=30).raise_for_status()
    boxes.connect(store)
    counts, failure = run_sync(sync_job(boxes, store, "gb"))
    assert failure is not None and "global_tax_unsupported" in str(failure)
    assert counts["invoice"].get("created", 0) == 0 and not boxes.qbo_rows("Invoice")


def eligible_number(eligible: dict[str, dict[str, Any]], row: dict[str, Any]) -> str:
    invoice_id = row["PrivateNote"].split("Invoiced invoice ", 1)[1].split(",", 1)[0]
    return str(eligible[invoice_id]["number"])
