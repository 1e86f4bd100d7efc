"""qbo_sync end to end: both sandboxes over HTTP, a real state store, the pipeline steps
exactly as the DAG runs them. The assertions read QBO back through its API."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
import requests

from accounting_sync.store.facade import StateStore
from tests.support.sandboxes import Sandboxes, run_sync, sync_job


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def qbo_invoices_by_invoiced_id(boxes: Sandboxes) -> dict[str, dict[str, Any]]:
    result = {}
    for row in boxes.qbo_rows("Invoice"):
        found = re.search(r"Invoiced invoice (\d+)", row.get("PrivateNote", ""))
        if found:
            result[found.group(1)] = row
    return result


def writes(boxes: Sandboxes) -> int:
    return sum(r["count"] for r in boxes.stats("qbo")["requests"] if r["method"] == "POST" and r["path"].startswith("/v3") and "query" not in r["path"])


def expected_balance(invoice: dict[str, Any]) -> Decimal:
    """What QBO should show: Invoiced's balance, or 0 once written off."""
    if invoice["status"] == "bad_debt" or (invoice["closed"] and not invoice["paid"]):
        return Decimal("0.00")
    return money(invoice["balance"])


def test_first_sync_matches_invoiced_to_the_cent_and_a_second_run_writes_nothing(
    seeded: Sandboxes, store: StateStore
) -> None:
    counts, failure = run_sync(sync_job(seeded, store, "first"))
    assert failure is None, failure

    invoices = seeded.invoiced_all("/invoices", include="amount_written_off")
    eligible = {str(i["id"]): i for i in invoices if not i["draft"] and i["status"] != "voided"}
    in_qbo = qbo_invoices_by_invoiced_id(seeded)
    assert set(in_qbo) == set(eligible)
    assert counts["invoice"]["created"] == len(eligible)
    for invoice_id, invoice in eligible.items():
        qbo = in_qbo[invoice_id]
        assert money(qbo["TotalAmt"]) == money(invoice["total"]), invoice["number"]
        assert money(qbo["Balance"]) == expected_balance(invoice), invoice["number"]
        assert len(qbo["DocNumber"]) <= 21

    customers = seeded.qbo_rows("Customer")
    assert all(len(c["DisplayName"]) <= 100 and ":" not in c["DisplayName"] for c in customers)
    assert len({c["DisplayName"].casefold() for c in customers}) == len(customers)

    payments = seeded.qbo_rows("Payment")
    cash = [p for p in payments if money(p["TotalAmt"]) > 0]
    write_offs = [p for p in payments if money(p["TotalAmt"]) == 0]
    assert len(write_offs) == len(seeded.qbo_rows("CreditMemo")) == counts["bad_debt"]["created"]
    assert len(cash) == counts["payment"]["created"]
    assert all(line["LinkedTxn"][0]["TxnType"] == "Invoice" for p in cash for line in p["Line"])

    seeded.reset_stats()
    counts, failure = run_sync(sync_job(seeded, store, "second"))
    assert failure is None and writes(seeded) == 0
    assert set(counts["invoice"]) <= {"unchanged", "skipped"}


def test_a_run_after_changes_writes_only_the_changes(seeded: Sandboxes, store: StateStore) -> None:
    hour_later = {"advance_seconds": 3600}
    requests.post(f"{seeded.invoiced_url}/_sandbox/clock", json=hour_later, timeout=10).raise_for_status()
    assert run_sync(sync_job(seeded, store, "first"))[1] is None
    requests.post(f"{seeded.invoiced_url}/_sandbox/clock", json=hour_later, timeout=10).raise_for_status()
    invoice = next(i for i in seeded.invoiced_all("/invoices") if i["status"] in {"sent", "not_sent", "viewed"})
    requests.patch(
        f"{seeded.invoiced_url}/invoices/{invoice['id']}",
        json={"notes": "Thank you for your business"},
        auth=(seeded.invoiced_info["api_key"], ""),
        timeout=10,
    ).raise_for_status()
    seeded.reset_stats()
    counts, failure = run_sync(sync_job(seeded, store, "second"))
    assert failure is None
    assert counts["invoice"] == {"updated": 1}, "only the changed invoice is read again"
    assert writes(seeded) == 1
    qbo = qbo_invoices_by_invoiced_id(seeded)[str(invoice["id"])]
    assert qbo["CustomerMemo"]["value"] == "Thank you for your business" and qbo["SyncToken"] == "1"


def test_dry_run_writes_nothing(seeded: Sandboxes, store: StateStore) -> None:
    counts, failure = run_sync(sync_job(seeded, store, "dry", dry_run=True))
    assert failure is None and writes(seeded) == 0
    assert counts["invoice"]["would_create"] > 100
    assert seeded.qbo_rows("Invoice") == []
    assert store.get_cursor("default", "qbo_sync.invoices") is None


def test_voided_invoice_is_voided_in_qbo(seeded: Sandboxes, store: StateStore) -> None:
    assert run_sync(sync_job(seeded, store, "first"))[1] is None
    unpaid = next(
        i for i in seeded.invoiced_all("/invoices", include="amount_paid")
        if i["status"] in {"sent", "not_sent"} and not i.get("amount_paid")
    )
    requests.post(
        f"{seeded.invoiced_url}/invoices/{unpaid['id']}/void", auth=(seeded.invoiced_info["api_key"], ""), timeout=10
    ).raise_for_status()
    counts, failure = run_sync(sync_job(seeded, store, "second"))
    assert failure is None and counts["invoice"]["voided"] == 1
    qbo = qbo_invoices_by_invoiced_id(seeded)[str(unpaid["id"])]
    assert money(qbo["TotalAmt"]) == 0 and money(qbo["Balance"]) == 0


def test_closed_books_error_names_the_invoice_and_the_fix_then_retries_without_a_change(
    seeded: Sandboxes, store: StateStore
) -> None:
    requests.post(f"{seeded.qbo_url}/_sandbox/close-books", json={"date": "2099-12-31"}, timeout=10).raise_for_status()
    counts, failure = run_sync(sync_job(seeded, store, "closed"))
    assert failure is not None
    errors = store.open_errors("default", "qbo_sync")
    closed = [e for e in errors if e.code == "6210"]
    assert closed and all(e.document_number and "reopen" in (e.hint or "").lower() for e in closed)
    assert "6210" in str(failure) and closed[0].document_number in str(failure)

    requests.post(f"{seeded.qbo_url}/_sandbox/close-books", json={"date": None}, timeout=10).raise_for_status()
    counts, failure = run_sync(sync_job(seeded, store, "reopened"))
    assert failure is None, failure
    assert store.open_errors("default", "qbo_sync") == []
    assert counts["invoice"]["created"] == len(closed)


def test_sync_start_date_leaves_older_invoices_and_their_payments_out(seeded: Sandboxes, store: StateStore) -> None:
    invoices = seeded.invoiced_all("/invoices")
    dates = sorted(i["date"] for i in invoices if not i["draft"])
    middle = dates[len(dates) // 2]
    from datetime import datetime, timezone

    start = datetime.fromtimestamp(middle, tz=timezone.utc).date()
    store.put_settings("default", {"sync_start_date": start.isoformat()})
    assert run_sync(sync_job(seeded, store, "first"))[1] is None
    for row in seeded.qbo_rows("Invoice"):
        assert row["TxnDate"] >= start.isoformat()
    synced = {row["Id"] for row in seeded.qbo_rows("Invoice")}
    for payment in seeded.qbo_rows("Payment"):
        for line in payment["Line"]:
            linked = line["LinkedTxn"][0]
            assert linked["TxnType"] != "Invoice" or linked["TxnId"] in synced


@pytest.mark.parametrize("policy", ["merge", "disambiguate"])
def test_duplicate_customer_names_follow_the_setting(seeded: Sandboxes, store: StateStore, policy: str) -> None:
    store.put_settings("default", {"duplicate_customer_names": policy})
    assert run_sync(sync_job(seeded, store, "first"))[1] is None
    names = Counter(c["name"].strip() for c in seeded.invoiced_all("/customers") if ":" not in c["name"])
    shared = next(name for name, n in names.items() if n > 1 and len(name) <= 90)
    matching = [c for c in seeded.qbo_rows("Customer") if c["DisplayName"].startswith(shared)]
    assert len(matching) == (1 if policy == "merge" else names[shared])


def test_existing_qbo_customer_with_the_same_name_is_linked_not_duplicated(seeded: Sandboxes, store: StateStore) -> None:
    customer = next(c for c in seeded.invoiced_all("/customers") if len(c["name"]) < 50 and ":" not in c["name"])
    seeded.qbo("customer", "POST", {"DisplayName": customer["name"]})
    assert run_sync(sync_job(seeded, store, "first"))[1] is None
    named = [c for c in seeded.qbo_rows("Customer") if c["DisplayName"].casefold() == customer["name"].casefold()]
    assert len(named) == 1


def test_commit_then_drop_and_transient_faults_never_duplicate(seeded: Sandboxes, store: StateStore) -> None:
    seeded.faults("qbo", probability=0.2, kinds=["drop", "500", "503", "429", "6000", "5010"], seed=7)
    seeded.faults("invoiced", probability=0.1, kinds=["500", "drop"], seed=3)
    failure: Exception | None = None
    for attempt in range(5):
        _, failure = run_sync(sync_job(seeded, store, f"faulty-{attempt}", throttle_wait_seconds=0.2))
        if failure is None:
            break
    seeded.faults("qbo", probability=0, kinds=[])
    seeded.faults("invoiced", probability=0, kinds=[])
    assert failure is None, failure
    invoices = seeded.invoiced_all("/invoices")
    eligible = [i for i in invoices if not i["draft"] and i["status"] != "voided"]
    docs = Counter(row["DocNumber"] for row in seeded.qbo_rows("Invoice"))
    assert len(docs) == len(eligible) and max(docs.values()) == 1
    assert len(seeded.qbo_rows("Customer")) == len({i["customer"] for i in eligible})
    notes = Counter(p.get("PrivateNote") for p in seeded.qbo_rows("Payment"))
    assert max(notes.values()) == 1


def test_expired_access_token_is_refreshed_once(seeded: Sandboxes, store: StateStore) -> None:
    manager = seeded.connect(store)
    with store.locked_token("default") as row:
        row.access_token_enc = manager._encrypt("not-a-valid-token")
    counts, failure = run_sync(sync_job(seeded, store, "first"))
    assert failure is None and counts["invoice"]["created"] > 100
    assert store.read_token("default").status == "connected"  # type: ignore[union-attr]


def test_voided_payment_is_voided_in_qbo_and_the_invoice_reopens(seeded: Sandboxes, store: StateStore) -> None:
    assert run_sync(sync_job(seeded, store, "first"))[1] is None
    payment = next(
        p for p in seeded.invoiced_all("/payments", include="applied_to")
        if not p.get("voided") and [s["type"] for s in p["applied_to"]] == ["invoice"]
    )
    invoice_id = str(payment["applied_to"][0]["invoice"])
    requests.delete(
        f"{seeded.invoiced_url}/payments/{payment['id']}", auth=(seeded.invoiced_info["api_key"], ""), timeout=10
    ).raise_for_status()
    counts, failure = run_sync(sync_job(seeded, store, "second"))
    assert failure is None and counts["payment"]["voided"] == 1
    voided = [p for p in seeded.qbo_rows("Payment") if f"Invoiced payment {payment['id']} " in p.get("PrivateNote", "")]
    assert len(voided) == 1 and money(voided[0]["TotalAmt"]) == 0
    invoice = seeded.invoiced(f"/invoices/{invoice_id}")
    assert money(qbo_invoices_by_invoiced_id(seeded)[invoice_id]["Balance"]) == money(invoice["balance"])


def test_a_name_held_by_a_vendor_gets_the_customer_number(seeded: Sandboxes, store: StateStore) -> None:
    customer = next(c for c in seeded.invoiced_all("/customers") if len(c["name"]) < 50 and ":" not in c["name"])
    seeded.qbo("vendor", "POST", {"DisplayName": customer["name"]})
    assert run_sync(sync_job(seeded, store, "first"))[1] is None
    names = {c["DisplayName"] for c in seeded.qbo_rows("Customer")}
    assert f"{customer['name']} ({customer['number']})" in names


def test_since_and_full_resync_reread_without_rewriting(seeded: Sandboxes, store: StateStore) -> None:
    assert run_sync(sync_job(seeded, store, "first"))[1] is None
    seeded.reset_stats()
    counts, failure = run_sync(sync_job(seeded, store, "full"), full_resync=True)
    assert failure is None and writes(seeded) == 0 and counts["invoice"]["unchanged"] > 100
    counts, failure = run_sync(sync_job(seeded, store, "since"), since="2000-01-01")
    assert failure is None and writes(seeded) == 0 and counts["invoice"]["unchanged"] > 100


def test_flows_turned_off_write_nothing_and_catch_up_when_turned_on(seeded: Sandboxes, store: StateStore) -> None:
    store.put_settings("default", {"write_invoices": False, "write_payments": False})
    counts, failure = run_sync(sync_job(seeded, store, "off"))
    assert failure is None and writes(seeded) == 0 and seeded.qbo_rows("Invoice") == []
    assert store.get_cursor("default", "qbo_sync.invoices") is None, "a flow that is off keeps its cursor"

    store.put_settings("default", {"write_invoices": True})
    counts, failure = run_sync(sync_job(seeded, store, "invoices-on"))
    cash = [p for p in seeded.qbo_rows("Payment") if money(p["TotalAmt"]) > 0]
    assert failure is None and counts["invoice"]["created"] > 100 and cash == []  # write-offs go with invoices

    store.put_settings("default", {"write_payments": True})
    counts, failure = run_sync(sync_job(seeded, store, "payments-on"))
    assert failure is None and counts["payment"]["created"] > 50
