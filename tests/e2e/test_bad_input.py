"""The bad-input corpus: hostile and broken Invoiced records next to good ones.

Each hostile record either gets a documented transformation or a clear per-record error
in the report; nothing crashes; every good record syncs. Records are staged as the
extract step would stage them, so shapes the Invoiced API itself would refuse can still
be thrown at the pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from accounting_sync.common.job import record_key
from accounting_sync.qbo_sync import pipeline as sync
from accounting_sync.store.facade import StateStore
from tests.support.sandboxes import Sandboxes, sandboxes, sync_job

DAY = 86_400
JAN = 1_767_225_600  # 2026-01-01
RTL = "شركة الأمل للتجارة"
EMOJI = "Café ☕ Rocket 🚀 Ltd"


def customer(cid: int, name: Any, **extra: Any) -> dict[str, Any]:
    return {"id": cid, "name": name, "number": f"HC-{cid}", "email": f"c{cid}@example.com", **extra}


def line(name: Any = "Work", quantity: Any = 1, unit_cost: Any = 100, **extra: Any) -> dict[str, Any]:
    return {"name": name, "quantity": quantity, "unit_cost": unit_cost, "taxable": True, **extra}


def invoice(iid: int, cust: int, lines: list[dict[str, Any]], total: Any = None, **extra: Any) -> dict[str, Any]:
    if total is None:
        try:
            total = round(sum(float(li["quantity"]) * float(li["unit_cost"]) for li in lines), 2)
        except (TypeError, ValueError):
            total = 100
    return {"id": iid, "customer": cust, "number": f"BAD-{iid}", "currency": "usd", "draft": False, "closed": False,
            "paid": False, "status": "sent", "date": JAN + DAY * 30, "due_date": JAN + DAY * 60, "items": lines,
            "discounts": [], "taxes": [], "total": total, "balance": total, "notes": None, "metadata": {},
            "updated_at": JAN, **extra}


def payment(pid: int, cust: Any, applied: list[dict[str, Any]], amount: Any = None, **extra: Any) -> dict[str, Any]:
    amount = amount if amount is not None else sum(a["amount"] for a in applied)
    return {"id": pid, "customer": cust, "date": JAN + DAY * 40, "currency": "usd", "amount": amount,
            "method": "check", "reference": f"HP-{pid}", "source": "keyed", "voided": False, "applied_to": applied,
            "updated_at": JAN, **extra}


# kind -> (records staged, expectation): "synced" (with a check) or "error" (with words the reason must hold)
CUSTOMERS = [
    customer(9001, "Plain Customer"),
    customer(9002, "N" * 600),
    customer(9003, "Colon: Tab\tNewline\nName"),
    customer(9004, EMOJI),
    customer(9005, RTL),
    customer(9006, "Bad Email", email="not-an-email"),
    customer(9007, ":::"),
    customer(9008, "   "),
]

INVOICES: dict[str, tuple[dict[str, Any], str, str]] = {
    "missing customer": (invoice(8001, 9999, [line()]), "error", "customer 9999 does not exist"),
    "null customer": (invoice(8002, None, [line()]), "error", "no customer"),
    "negative quantity": (invoice(8003, 9001, [line(quantity=3), line("Refund", -1, 50)]), "synced", ""),
    "zero lines": (invoice(8004, 9001, []), "error", "no line items"),
    "null amount": (invoice(8005, 9001, [line(unit_cost=None)]), "error", "unit_cost is missing"),
    "non-numeric amount": (invoice(8006, 9001, [line(unit_cost="12,50")]), "error", "not a number"),
    "NaN amount": (invoice(8007, 9001, [line(unit_cost="NaN")]), "error", "not a number"),
    "infinite quantity": (invoice(8008, 9001, [line(quantity="Infinity")]), "error", "not a number"),
    "10,000-character description": (invoice(8009, 9001, [line(description="x" * 10_000)]), "synced", ""),
    "600-character customer name": (invoice(8010, 9002, [line()]), "synced", ""),
    "colon, tab and newline in names": (invoice(8011, 9003, [line("Part: A\tB")]), "synced", ""),
    "emoji": (invoice(8012, 9004, [line("Espresso ☕", description="🚀 launch")]), "synced", ""),
    "right-to-left text": (invoice(8013, 9005, [line("خدمة", description=RTL)]), "synced", ""),
    "duplicate invoice number": (invoice(8014, 9001, [line()], number="BAD-8003"), "error", "6140"),
    "foreign currency": (invoice(8015, 9001, [line()], currency="eur"), "error", "currency EUR"),
    "closed period": (invoice(8016, 9001, [line()], date=946_728_000), "error", "6210"),
    "total does not add up": (invoice(8017, 9001, [line()], total=99.99), "error", "add up to"),
    "missing date": (invoice(8018, 9001, [line()], date=None), "error", "date"),
    "600-character item name": (invoice(8019, 9001, [line("I" * 600)]), "synced", ""),
    "nameless line": (invoice(8020, 9001, [line(name=None)]), "synced", ""),
    "control characters": (invoice(8021, 9001, [line("Null\x00Byte", description="bell\x07 and nul\x00")]), "synced", ""),
    "invalid email": (invoice(8022, 9006, [line()]), "synced", ""),
    "name of only forbidden characters": (invoice(8023, 9007, [line()]), "synced", ""),
    "blank customer name": (invoice(8024, 9008, [line()]), "synced", ""),
    "number over 21 characters": (invoice(8025, 9001, [line()], number="HOSTILE-NUMBER-" + "9" * 30), "synced", ""),
    "notes over 1,000 characters": (invoice(8026, 9001, [line()], notes="n" * 5_000), "synced", ""),
    "fractional cents": (invoice(8027, 9001, [line(quantity=3, unit_cost="0.3333")], total=1.0), "synced", ""),
    "voided never synced": (invoice(8028, 9001, [line()], status="voided"), "skipped", ""),
    "draft": (invoice(8029, 9001, [line()], draft=True, status="draft"), "skipped", ""),
}

PAYMENTS: dict[str, tuple[dict[str, Any], str, str]] = {
    "payment larger than its invoice": (
        payment(7001, 9001, [{"type": "invoice", "invoice": 8025, "amount": 150}]), "error", "open balance"),
    "payment on a voided invoice": (
        payment(7002, 9001, [{"type": "invoice", "invoice": 8028, "amount": 100}]), "error", "voided"),
    "payment without customer": (
        payment(7003, None, [{"type": "invoice", "invoice": 8026, "amount": 10}]), "error", "no customer"),
    "negative payment split": (
        payment(7004, 9001, [{"type": "invoice", "invoice": 8026, "amount": -10}]), "error", "negative"),
    "payment on an invoice that failed": (
        payment(7005, 9001, [{"type": "invoice", "invoice": 8017, "amount": 10}]), "error", "waiting for invoice"),
    "non-numeric payment amount": (
        payment(7006, 9001, [{"type": "invoice", "invoice": 8026, "amount": "ten"}], amount=10), "error", "not a number"),
    "good payment": (payment(7007, 9001, [{"type": "invoice", "invoice": 8026, "amount": 25}]), "synced", ""),
}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandboxes, StateStore, dict[str, Any]]]:
    store = StateStore(f"sqlite:///{tmp_path_factory.mktemp('bad') / 'state.db'}")
    with sandboxes() as boxes:
        boxes.reset(seed_invoiced=True)
        boxes.connect(store)
        requests.post(f"{boxes.qbo_url}/_sandbox/close-books", json={"date": "2005-12-31"}, timeout=10)
        job = sync_job(boxes, store, "hostile")
        job.store.start_run(job.company, job.dag_id, job.run_id)
        sync.extract(job)
        job.stage("extract", "customer", [(record_key(c["id"]), c) for c in CUSTOMERS])
        job.stage("extract", "invoice", [(record_key(i["id"]), i) for i, _, _ in INVOICES.values()])
        job.stage("extract", "payment", [(record_key(p["id"]), p) for p, _, _ in PAYMENTS.values()])
        sync.transform(job)
        counts = sync.load(job)
        try:
            sync.report(job)
            report = ""
        except sync.SyncFailed as failed:
            report = str(failed)
        yield boxes, store, {"counts": counts, "report": report, "errors": store.open_errors("default", "qbo_sync")}


def qbo_invoice(boxes: Sandboxes, invoiced_id: int) -> dict[str, Any] | None:
    for row in boxes.qbo_rows("Invoice"):
        if re.search(rf"Invoiced invoice {invoiced_id}\b", row.get("PrivateNote", "")):
            return row
    return None


def test_corpus_has_at_least_25_kinds() -> None:
    assert len(INVOICES) + len(PAYMENTS) >= 25


@pytest.mark.parametrize("kind", sorted(INVOICES))
def test_each_hostile_invoice_is_transformed_or_reported(result: Any, kind: str) -> None:
    boxes, _, outcome = result
    record, expected, words = INVOICES[kind]
    errors = {e.source_id: e for e in outcome["errors"] if e.object_type == "invoice"}
    synced = qbo_invoice(boxes, record["id"])
    if expected == "error":
        assert synced is None, kind
        error = errors.get(str(record["id"]))
        assert error is not None, f"{kind}: no per-record error"
        assert words in f"{error.code} {error.message}", f"{kind}: {error.code} {error.message}"
        assert error.document_number in outcome["report"]
    elif expected == "skipped":
        assert synced is None and str(record["id"]) not in errors
    else:
        assert synced is not None, f"{kind}: {errors.get(str(record['id'])) and errors[str(record['id'])].message}"
        assert str(record["id"]) not in errors


@pytest.mark.parametrize("kind", sorted(PAYMENTS))
def test_each_hostile_payment_is_synced_or_reported(result: Any, kind: str) -> None:
    boxes, _, outcome = result
    record, expected, words = PAYMENTS[kind]
    errors = {e.source_id: e for e in outcome["errors"] if e.object_type == "payment"}
    notes = [p.get("PrivateNote", "") for p in boxes.qbo_rows("Payment")]
    synced = any(f"Invoiced payment {record['id']} " in note for note in notes)
    if expected == "error":
        assert not synced
        error = errors.get(str(record["id"]))
        assert error is not None, f"{kind}: no per-record error"
        assert words in f"{error.code} {error.message}", f"{kind}: {error.code} {error.message}"
    else:
        assert synced and str(record["id"]) not in errors


def test_documented_transformations(result: Any) -> None:
    boxes, _, _ = result
    long_description = qbo_invoice(boxes, 8009)
    assert long_description is not None and len(long_description["Line"][0]["Description"]) == 4000
    long_number = qbo_invoice(boxes, 8025)
    assert long_number is not None and len(long_number["DocNumber"]) <= 21
    assert "HOSTILE-NUMBER-" + "9" * 30 in long_number["PrivateNote"]
    memo = qbo_invoice(boxes, 8026)
    assert memo is not None and len(memo["CustomerMemo"]["value"]) == 1000
    names = {c["DisplayName"] for c in boxes.qbo_rows("Customer")}
    assert all(len(n) <= 100 and ":" not in n and "\t" not in n and "\n" not in n for n in names)
    assert "N" * 100 in names and "Colon- Tab Newline Name" in names and EMOJI in names and RTL in names
    items = {i["Name"] for i in boxes.qbo_rows("Item")}
    assert "I" * 100 in items and "Part- A B" in items and all(len(n) <= 100 for n in items)
    control = qbo_invoice(boxes, 8021)
    assert control is not None and "\x00" not in control["Line"][0].get("Description", "")


def test_every_good_record_still_synced(result: Any) -> None:
    boxes, _, _ = result
    seeded = [i for i in boxes.invoiced_all("/invoices") if not i["draft"] and i["status"] != "voided"]
    synced_ids = {
        m.group(1) for row in boxes.qbo_rows("Invoice")
        if (m := re.search(r"Invoiced invoice (\d+)", row.get("PrivateNote", "")))
    }
    assert {str(i["id"]) for i in seeded} <= synced_ids


def test_nothing_crashed_and_the_report_lists_each_failure(result: Any) -> None:
    _, _, outcome = result
    failures = sum(1 for _, expected, _ in [*INVOICES.values(), *PAYMENTS.values()] if expected == "error")
    assert f"{len(outcome['errors'])} record(s) could not be synced" in outcome["report"]
    assert len(outcome["errors"]) >= failures
