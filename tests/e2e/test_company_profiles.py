"""qbo_sync into each kind of QuickBooks company the sandbox can be: the demo account (of
the company's country) is synced and every invoice's total, tax, balance and currency
agree to the cent on both sides; a second run writes nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import requests

from accounting_sync.qbo_import import pipeline as importer
from accounting_sync.store.facade import StateStore
from sandbox.quickbooks.config import SandboxConfig
from tests.e2e.test_sync_e2e import expected_balance, money, qbo_invoices_by_invoiced_id, writes
from tests.support.sandboxes import API_REFERENCE_BATCH, Sandboxes, run_sync, sandboxes, sync_job

PROFILES: dict[str, tuple[dict[str, Any], str]] = {
    "us": ({}, "us"),
    "us-ast": ({"automated_sales_tax": True}, "us"),
    "preferences-off": (
        {"allow_discounts": False, "custom_txn_numbers": False, "duplicate_docnum_warning_only": True}, "us"),
    "gb": ({"country": "GB", "home_currency": "GBP"}, "gb"),
    "ca": ({"country": "CA", "home_currency": "CAD"}, "ca"),
    "au": ({"country": "AU", "home_currency": "AUD"}, "au"),
    "us-multicurrency": ({"multicurrency": True}, "us-multicurrency"),
}
ROUNDING_NOTE = "Tax rounding"
CENT = Decimal("0.01")


def invoiced_tax(invoice: dict[str, Any]) -> Decimal:
    document = sum((money(tax["amount"]) for tax in invoice.get("taxes") or []), Decimal(0))
    lines = sum((money(tax["amount"]) for line in invoice["items"] for tax in line.get("taxes") or []), Decimal(0))
    return money(document + lines)


@pytest.fixture(params=sorted(PROFILES))
def company(request: pytest.FixtureRequest, boxes: Sandboxes, store: StateStore) -> tuple[str, Sandboxes]:
    """The demo books on Invoiced, an empty QBO company of one kind, connected."""
    profile, locale = PROFILES[request.param]
    boxes.reset(seed_invoiced=False)
    requests.post(f"{boxes.invoiced_url}/_sandbox/seed", json={"locale": locale}, timeout=30).raise_for_status()
    requests.post(f"{boxes.qbo_url}/_sandbox/company", json=profile, timeout=30).raise_for_status()
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
        assert qbo_tax(qbo) == invoiced_tax(invoice), invoice["number"]
        assert money(qbo["Balance"]) == expected_balance(invoice), invoice["number"]
        assert qbo["CurrencyRef"]["value"].lower() == invoice["currency"].lower()
    assert_customer_balances(boxes, in_qbo, eligible)
    if profile in ("gb", "ca", "au"):
        codes = {row["Id"]: row["Name"] for row in boxes.qbo_rows("TaxCode")}
        used = {codes[line["SalesItemLineDetail"]["TaxCodeRef"]["value"]] for row in in_qbo.values()
                for line in row["Line"] if line["DetailType"] == "SalesItemLineDetail"}
        assert used >= {"gb": {"20.0% S", "5.0% R", "0.0% Z"}, "ca": {"GST", "HST ON", "GST/PST BC", "Zero-rated"},
                        "au": {"GST", "GST free"}}[profile]
        modes = {row["GlobalTaxCalculation"] for row in in_qbo.values()}
        assert modes == ({"TaxInclusive", "TaxExcluded"} if profile == "au" else {"TaxExcluded"})
        rounded = [row for row in in_qbo.values() if any(ROUNDING_NOTE in line.get("Description", "") for line in row["Line"])]
        assert rounded  # QBO rounds per line: the sync added rounding lines
        assert counts["invoice"].get("with_tax_rounding", 0) == len(rounded)  # and says so
        for row in rounded:  # in pairs whose amounts (gross, if inclusive) cancel out: the total is untouched
            assert sum((money(line["SalesItemLineDetail"].get("TaxInclusiveAmt", line["Amount"])) for line in row["Line"]
                        if ROUNDING_NOTE in line.get("Description", "")), Decimal(0)) == 0, row["DocNumber"]
    elif profile == "us-multicurrency":
        assert {row["CurrencyRef"]["value"] for row in in_qbo.values()} == {"USD", "EUR", "CAD"}
        customers = {row["Id"]: row for row in boxes.qbo_rows("Customer")}
        twins = [row for row in customers.values() if row["DisplayName"].endswith(" (EUR)")]
        assert twins and all(row["CurrencyRef"]["value"] == "EUR" for row in twins)
        for row in in_qbo.values():  # every document on the customer of its currency
            assert customers[row["CustomerRef"]["value"]]["CurrencyRef"] == row["CurrencyRef"]
        for row in in_qbo.values():  # QBO's rate, half-up to the cent
            home = (money(row["TotalAmt"]) * Decimal(str(row["ExchangeRate"]))).quantize(CENT, ROUND_HALF_UP)
            assert money(row["HomeTotalAmt"]) == home, row["DocNumber"]
    elif profile == "us-ast":
        assert counts["invoice"]["tax_differs_from_automated"] > 0
        assert all(row["TxnTaxDetail"]["TxnTaxCodeRef"]["value"] not in ("TAX", "NON") for row in in_qbo.values())
        assert not [row for row in boxes.qbo_rows("TaxCode") if row.get("TaxCodeConfigType") == "USER_DEFINED"]
    elif profile == "preferences-off":
        assert not any(line["DetailType"] == "DiscountLineDetail" for row in in_qbo.values() for line in row["Line"])
        numbered = [row for row in in_qbo.values() if row["DocNumber"] != eligible_number(eligible, row)]
        assert numbered  # QBO numbered them itself; the Invoiced number is in the private note
        assert all(f"number {eligible_number(eligible, row)}" in row["PrivateNote"] for row in in_qbo.values())

    boxes.reset_stats()
    counts, failure = run_sync(sync_job(boxes, store, "second"))
    assert failure is None and writes(boxes) == 0
    assert len(qbo_invoices_by_invoiced_id(boxes)) == len(eligible)

    # qbo_import in the same company brings nothing back: every QBO invoice came from Invoiced
    twin = add_invoice_on_a_twin(boxes) if profile == "us-multicurrency" else None
    job = dataclasses.replace(sync_job(boxes, store, "import"), dag_id="qbo_import")
    importer.extract(job)
    importer.load(job)
    importer.report(job)
    imported = [i for i in boxes.invoiced_all("/invoices") if str(i["id"]) not in {str(j["id"]) for j in invoices}]
    assert [(i["number"], i["currency"], str(i["customer"])) for i in imported] == ([twin] if twin else [])


def add_invoice_on_a_twin(boxes: Sandboxes) -> tuple[str, str, str]:
    """An invoice entered in QBO on a per-currency customer qbo_sync created: it belongs to
    the Invoiced customer the twin stands for, in the twin's currency."""
    customer = next(row for row in boxes.qbo_rows("Customer") if row["DisplayName"].endswith(" (EUR)"))
    item = boxes.qbo_rows("Item")[0]
    boxes.qbo("invoice", "POST", {"CustomerRef": {"value": customer["Id"]}, "DocNumber": "QBO-EUR-1", "Line": [
        {"DetailType": "SalesItemLineDetail", "Amount": 10,
         "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 1, "UnitPrice": 10}}]})
    invoiced_id = customer["Notes"].split("Invoiced customer ", 1)[1].split(":", 1)[0]
    return "QBO-EUR-1", "eur", invoiced_id


@pytest.fixture(scope="module")
def rate_boxes() -> Iterator[Sandboxes]:
    """A QBO sandbox that rounds VAT/GST once per rate, the other reading of QBO."""
    with sandboxes(SandboxConfig(batch_max_items=API_REFERENCE_BATCH, global_tax_rounding="rate")) as started:
        yield started


@pytest.mark.parametrize("profile", ["ca", "gb"])
def test_totals_agree_when_quickbooks_rounds_once_per_rate(rate_boxes: Sandboxes, store: StateStore, profile: str) -> None:
    company, locale = PROFILES[profile]
    rate_boxes.reset(seed_invoiced=False)
    requests.post(f"{rate_boxes.invoiced_url}/_sandbox/seed", json={"locale": locale}, timeout=30).raise_for_status()
    requests.post(f"{rate_boxes.qbo_url}/_sandbox/company", json=company, timeout=30).raise_for_status()
    rate_boxes.connect(store)
    counts, failure = run_sync(sync_job(rate_boxes, store, "first"))
    assert failure is None, failure
    if profile == "ca":  # fitted again after the write (GB's one rounded demo invoice agrees under both readings)
        assert counts["invoice"]["total_evened"] > 0
    in_qbo = qbo_invoices_by_invoiced_id(rate_boxes)
    for invoice in rate_boxes.invoiced_all("/invoices"):
        if str(invoice["id"]) in in_qbo:
            row = in_qbo[str(invoice["id"])]
            assert money(row["TotalAmt"]) == money(invoice["total"]), invoice["number"]
            assert qbo_tax(row) == invoiced_tax(invoice), invoice["number"]
    rate_boxes.reset_stats()
    assert run_sync(sync_job(rate_boxes, store, "second"))[1] is None and writes(rate_boxes) == 0


def qbo_tax(row: dict[str, Any]) -> Decimal:
    """QBO's own tax, as its reports show it: tax rounding lines are not counted in."""
    return money(row["TxnTaxDetail"].get("TotalTax", 0))


def assert_customer_balances(
    boxes: Sandboxes, in_qbo: dict[str, dict[str, Any]], eligible: dict[str, dict[str, Any]]
) -> None:
    """Each QBO customer's open balance is what its Invoiced invoices still have open."""
    wanted: dict[str, Decimal] = {}
    for invoice_id, row in in_qbo.items():
        customer = row["CustomerRef"]["value"]
        wanted[customer] = wanted.get(customer, Decimal(0)) + expected_balance(eligible[invoice_id])
    open_in_qbo: dict[str, Decimal] = {}
    for row in boxes.qbo_rows("Invoice"):
        customer = row["CustomerRef"]["value"]
        open_in_qbo[customer] = open_in_qbo.get(customer, Decimal(0)) + money(row["Balance"])
    assert open_in_qbo == wanted


def eligible_number(eligible: dict[str, dict[str, Any]], row: dict[str, Any]) -> str:
    invoice_id = row["PrivateNote"].split("Invoiced invoice ", 1)[1].split(",", 1)[0]
    return str(eligible[invoice_id]["number"])


@pytest.mark.parametrize(
    ("profile", "refused", "code"),
    [({}, {"EUR", "CAD"}, "currency_mismatch"),
     ({"multicurrency": True, "currencies": ["USD", "EUR"]}, {"CAD"}, "currency_not_enabled")],
)
def test_documents_in_a_currency_the_company_lacks_are_refused_with_a_hint(
    boxes: Sandboxes, store: StateStore, profile: dict[str, Any], refused: set[str], code: str
) -> None:
    boxes.reset(seed_invoiced=False)
    requests.post(f"{boxes.invoiced_url}/_sandbox/seed", json={"locale": "us-multicurrency"}, timeout=30).raise_for_status()
    requests.post(f"{boxes.qbo_url}/_sandbox/company", json=profile, timeout=30).raise_for_status()
    boxes.connect(store)
    counts, failure = run_sync(sync_job(boxes, store, "refused"))
    assert failure is not None and code in str(failure)
    errors = [error for error in store.open_errors("default") if error.code == code]
    written = {row["CurrencyRef"]["value"] for row in qbo_invoices_by_invoiced_id(boxes).values()}
    assert written and not written & refused
    assert errors and all(error.hint for error in errors)
    assert counts["invoice"]["created"] > 0
