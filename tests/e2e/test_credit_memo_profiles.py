"""Credit notes into VAT/GST companies (GB, AU with inclusive GST, CA with GST + PST): each
becomes a credit memo whose total, tax and remaining credit are the credit note's to the
cent, with amounts picked so QBO's per-line rounding differs from Invoiced's; a second run
writes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests

from accounting_sync.store.facade import StateStore
from sandbox.invoiced.seed import LOCALES
from tests.e2e.test_company_profiles import PROFILES, qbo_tax
from tests.e2e.test_credits_e2e import apply_credit_note, document, qbo_row, synced, write, writes
from tests.support.books import money
from tests.support.sandboxes import Sandboxes

NOTES: dict[str, list[dict[str, Any]]] = {
    # line amounts, the note's rates, the first line's own rates, a flat discount
    "gb": [
        {"items": [10.03, 10.03, 5], "taxes": ["vat"]},  # VAT 4.01 on Invoiced, 2 x 2.01 per line in QBO
        {"items": [10.03, 12.51], "own": ["vat-reduced"]},  # reduced rate on one line: rounded alike
        {"items": [99.99, 0.07], "taxes": ["vat"], "discount": 5},  # a discount: on the discount item, at VAT
    ],
    "au": [
        {"items": [10.05, 10.05, 10.05], "taxes": ["gst"]},  # GST inclusive: 2.75 on Invoiced, 3 x 0.91 in QBO
        {"items": [310, 7500, 42.5], "taxes": ["gst"]},
        {"items": [19.99], "taxes": []},
    ],
    "ca": [
        {"items": [10.06, 10.06, 10.06, 10.06], "taxes": ["gst", "pst-bc"]},  # GST and PST both off by cents
        {"items": [10.11, 10.11], "taxes": ["gst", "pst-bc"]},  # GST only
        {"items": [33.33, 66.67], "taxes": ["hst-on"]},
    ],
}


def invoiced_tax(note: dict[str, Any]) -> Decimal:
    applied = [*note["taxes"], *(tax for line in note["items"] for tax in line["taxes"])]
    return sum((money(tax["amount"]) for tax in applied), Decimal(0))


@pytest.mark.parametrize("profile", sorted(NOTES))
def test_credit_memos_agree_on_total_tax_and_credit_in_each_vat_company(
    boxes: Sandboxes, store: StateStore, profile: str
) -> None:
    company, locale = PROFILES[profile]
    boxes.reset(seed_invoiced=False)
    boxes.faults("qbo", probability=0, kinds=[])
    boxes.faults("invoiced", probability=0, kinds=[])
    requests.post(f"{boxes.qbo_url}/_sandbox/company", json=company, timeout=30).raise_for_status()
    boxes.connect(store)
    for rate in LOCALES[locale].rates:
        write(boxes, "POST", "/tax_rates", dict(rate))
    customer = write(boxes, "POST", "/customers", {"name": f"Credit Customer {profile}",
                                                   "currency": LOCALES[locale].currency})["id"]
    notes = []
    for spec in NOTES[profile]:
        items = [{"name": f"Returned {n}", "unit_cost": amount} for n, amount in enumerate(spec["items"])]
        items[0]["taxes"] = spec.get("own", [])
        body = {"customer": customer, "items": items, "taxes": spec.get("taxes", [])}
        notes.append(write(boxes, "POST", "/credit_notes", {**body, **({"discount": spec["discount"]} if "discount" in spec else {})}))
    counts = synced(boxes, store, "notes")  # credit notes alone: the rounding item is made for them too
    assert counts["credit_note"]["created"] == len(notes) and counts["credit_note"].get("with_tax_rounding", 0) > 0
    invoice = document(boxes, "/invoices", customer, 100)
    apply_credit_note(boxes, notes[0], invoice, 5)  # part of one note applied: its remaining credit is less
    synced(boxes, store, "applied")
    for note in notes:
        note = boxes.invoiced(f"/credit_notes/{note['id']}")
        memo = qbo_row(boxes, "CreditMemo", f"Invoiced credit note {note['id']}")
        assert money(memo["TotalAmt"]) == money(note["total"]), note["number"]
        assert qbo_tax(memo) == invoiced_tax(note), note["number"]
        assert money(memo["RemainingCredit"]) == money(note["balance"]), note["number"]
    assert money(boxes.invoiced(f"/credit_notes/{notes[0]['id']}")["balance"]) < money(notes[0]["total"])
    assert not writes(synced(boxes, store, "second"))
