"""qbo_sync against the QBO sandbox where it behaves as real QBO does and a naive sync goes
wrong, often without an error: batches of 10, overpayments turned into credit,
'(deleted)' renames, voids of paid invoices, forgotten requestids. Each test ends by
reading both sandboxes back. The QBO sandbox keeps its defaults (overpayments accepted,
'(deleted)' renames, paid invoices voidable, requestids kept 24 h) and 30 items per batch,
but in the first test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from accounting_sync.qbo_sync.writer import BATCH_SIZE_KEY, BatchWriter
from accounting_sync.store.facade import StateStore
from sandbox.quickbooks.config import LimitsConfig, SandboxConfig
from tests.support.books import assert_books_match, money
from tests.support.sandboxes import API_REFERENCE_BATCH, Sandboxes, run_sync, sandboxes, sync_job

SCALED_WINDOW = 6.0


def batch_answers(boxes: Sandboxes) -> dict[int, int]:
    """HTTP status -> count of the batch requests QBO answered."""
    rows = boxes.stats("qbo")["requests"]
    return {row["status"]: row["count"] for row in rows if row["path"].endswith("/batch")}


def invoiced_write(boxes: Sandboxes, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    response = requests.request(method, f"{boxes.invoiced_url}{path}", json=body,
                                auth=(boxes.invoiced_info["api_key"], ""), timeout=10)
    response.raise_for_status()
    return response.json() if response.content else None


@pytest.fixture
def strict(store: StateStore) -> Iterator[Sandboxes]:
    """The QBO sandbox exactly as it starts, 10 items per batch included, on a clock scaled
    10x (QBO's 40 batches a minute become 40 per 6 s, as in the benchmarks)."""
    with sandboxes(SandboxConfig(limits=LimitsConfig(window_seconds=SCALED_WINDOW))) as started:
        started.reset(seed_invoiced=True)
        started.connect(store)
        started.reset_stats()
        yield started


def test_a_batch_refused_for_its_size_is_resent_by_ten_and_the_size_is_remembered(
    strict: Sandboxes, store: StateStore
) -> None:
    """Intuit's pages say 30 and 10 items per batch; this QBO takes 10."""
    seeded = strict
    counts, failure = run_sync(sync_job(seeded, store, "first", window_seconds=SCALED_WINDOW))
    assert failure is None, failure
    assert batch_answers(seeded).get(400) == 1, "one refusal, then batches of 10"
    assert store.get_cursor("default", BATCH_SIZE_KEY) == "10"
    assert_books_match(seeded, seeded.realm_id)

    seeded.reset_stats()
    invoice = next(i for i in seeded.invoiced_all("/invoices") if i["status"] in {"sent", "not_sent", "viewed"})
    invoiced_write(seeded, "PATCH", f"/invoices/{invoice['id']}", {"notes": "changed"})
    assert run_sync(sync_job(seeded, store, "second", window_seconds=SCALED_WINDOW))[1] is None
    assert 400 not in batch_answers(seeded), "the next run starts at 10"


def test_batches_of_30_where_qbo_takes_them(store: StateStore) -> None:
    with sandboxes() as boxes:
        boxes.reset(seed_invoiced=True)
        boxes.connect(store)
        assert run_sync(sync_job(boxes, store, "first"))[1] is None
        assert 400 not in batch_answers(boxes) and store.get_cursor("default", BATCH_SIZE_KEY) is None
        assert_books_match(boxes, boxes.realm_id)


def advance_invoiced_clock(boxes: Sandboxes) -> None:
    requests.post(f"{boxes.invoiced_url}/_sandbox/clock", json={"advance_seconds": 3600}, timeout=10).raise_for_status()


def qbo_invoice(boxes: Sandboxes, invoice_id: str) -> dict[str, Any]:
    [row] = [r for r in boxes.qbo_rows("Invoice") if re.search(rf"Invoiced invoice {invoice_id}\b", r.get("PrivateNote", ""))]
    return row


def open_invoice(boxes: Sandboxes) -> dict[str, Any]:
    return next(i for i in boxes.invoiced_all("/invoices", include="amount_paid")
                if i["status"] in {"sent", "not_sent", "viewed"} and money(i["balance"]) == money(i["total"])
                and money(i["total"]) > 10)


def pay_on_invoiced(boxes: Sandboxes, invoice: dict[str, Any], amount: Decimal) -> dict[str, Any]:
    return dict(invoiced_write(boxes, "POST", "/payments", {
        "customer": invoice["customer"], "amount": float(amount), "method": "check",
        "applied_to": [{"type": "invoice", "invoice": invoice["id"], "amount": float(amount)}],
    }))


def test_a_payment_beyond_the_qbo_open_balance_is_reported_not_turned_into_credit(
    seeded: Sandboxes, store: StateStore
) -> None:
    """Partly paid in QBO directly, then paid in full on Invoiced: QBO would take the full
    payment and keep the excess as customer credit, with no error."""
    advance_invoiced_clock(seeded)
    assert run_sync(sync_job(seeded, store, "first"))[1] is None
    invoice = open_invoice(seeded)
    in_qbo = qbo_invoice(seeded, str(invoice["id"]))
    part = (money(in_qbo["TotalAmt"]) * Decimal("0.4")).quantize(Decimal("0.01"))
    seeded.qbo("payment", "POST", {
        "CustomerRef": in_qbo["CustomerRef"], "TotalAmt": float(part),
        "Line": [{"Amount": float(part), "LinkedTxn": [{"TxnId": in_qbo["Id"], "TxnType": "Invoice"}]}],
    })
    advance_invoiced_clock(seeded)
    payment = pay_on_invoiced(seeded, invoice, money(invoice["balance"]))

    job = sync_job(seeded, store, "second")
    counts, failure = run_sync(job)

    assert failure is not None and "open balance" in str(failure)
    assert counts["payment"] == {"failed": 1}
    [error] = [e for e in store.open_errors(job.company) if e.source_id == str(payment["id"])]
    assert error.code == "overpayment" and "open balance is" in error.message and error.hint
    assert money(qbo_invoice(seeded, str(invoice["id"]))["Balance"]) == money(in_qbo["TotalAmt"]) - part
    credit = [p for p in seeded.qbo_rows("Payment") if money(p.get("UnappliedAmt", 0)) > 0]
    assert not [p for p in credit if f"Invoiced payment {payment['id']} " in p.get("PrivateNote", "")]
    assert_books_match(seeded, seeded.realm_id)


def test_a_convenience_fee_reaches_qbo_in_the_cash_received_on_a_fee_invoice(
    seeded: Sandboxes, store: StateStore
) -> None:
    """Invoiced splits a card payment into the invoice part and a convenience_fee part; the
    QBO payment must carry what the bank received, not only what paid the invoice, and
    leave no credit: the fee is an invoice of its own that the payment pays."""
    advance_invoiced_clock(seeded)
    assert run_sync(sync_job(seeded, store, "first"))[1] is None
    invoice = open_invoice(seeded)
    balance, fee = money(invoice["balance"]), Decimal("3.25")
    advance_invoiced_clock(seeded)
    payment = invoiced_write(seeded, "POST", "/payments", {
        "customer": invoice["customer"], "amount": float(balance + fee), "method": "credit_card",
        "applied_to": [{"type": "invoice", "invoice": invoice["id"], "amount": float(balance)},
                       {"type": "convenience_fee", "amount": float(fee)}],
    })

    counts, failure = run_sync(sync_job(seeded, store, "second"))

    assert failure is None, failure
    assert counts["payment"] == {"created": 1} and counts["fee"] == {"created": 1}
    [written] = [p for p in seeded.qbo_rows("Payment")
                 if f"Invoiced payment {payment['id']} " in p.get("PrivateNote", "")]
    assert (money(written["TotalAmt"]), money(written["UnappliedAmt"])) == (balance + fee, 0)
    assert money(qbo_invoice(seeded, str(invoice["id"]))["Balance"]) == 0
    assert_books_match(seeded, seeded.realm_id)


@pytest.mark.parametrize("suffix", [" (deleted)", None], ids=["renamed", "not-renamed"])
def test_an_inactive_qbo_customer_of_the_same_name_is_neither_linked_nor_duplicated(
    store: StateStore, suffix: str | None
) -> None:
    """QBO renames a customer it makes inactive "<name> (deleted)" (recorded answers), which
    frees the plain name; without the rename the inactive row keeps it."""
    with sandboxes(SandboxConfig(inactive_name_suffix=suffix, batch_max_items=API_REFERENCE_BATCH)) as boxes:
        boxes.reset(seed_invoiced=True)
        customers = boxes.invoiced_all("/customers")
        customer = next(c for c in customers if len(c["name"]) < 50 and ":" not in c["name"]
                        and sum(o["name"].casefold().startswith(c["name"].casefold()) for o in customers) == 1)
        made = boxes.qbo("customer", "POST", {"DisplayName": customer["name"]})["Customer"]
        boxes.qbo("customer", "POST", {"Id": made["Id"], "SyncToken": made["SyncToken"], "sparse": True,
                                       "Active": False})
        boxes.connect(store)
        job = sync_job(boxes, store, "first")
        _, failure = run_sync(job)

        assert failure is not None and "inactive customer" in str(failure)
        [error] = [e for e in store.open_errors(job.company) if e.object_type == "customer"]
        assert error.source_id == str(customer["id"]) and error.code == "inactive_customer" and error.hint
        assert store.get_mapping(job.company, "customer", str(customer["id"])) is None
        namesakes = [c for c in boxes.qbo_rows("Customer", "Active IN (true, false)")
                     if c["DisplayName"].casefold().startswith(customer["name"].casefold())]
        assert [c["Id"] for c in namesakes] == [made["Id"]], "no second customer beside the inactive one"


def void_on_invoiced(boxes: Sandboxes, path: str) -> None:
    requests.request("DELETE" if path.startswith("/payments") else "POST", f"{boxes.invoiced_url}{path}",
                     auth=(boxes.invoiced_info["api_key"], ""), timeout=10).raise_for_status()


def test_an_invoice_voided_with_its_payment_voids_the_payment_first(store: StateStore) -> None:
    """Where QBO refuses to void a paid invoice (one report says it does), the order decides."""
    with sandboxes(SandboxConfig(void_invoice_with_payments="refuse", batch_max_items=API_REFERENCE_BATCH)) as boxes:
        boxes.reset(seed_invoiced=True)
        boxes.connect(store)
        advance_invoiced_clock(boxes)
        assert run_sync(sync_job(boxes, store, "first"))[1] is None
        invoice = open_invoice(boxes)
        advance_invoiced_clock(boxes)
        payment = pay_on_invoiced(boxes, invoice, money(invoice["balance"]) / 2)
        assert run_sync(sync_job(boxes, store, "second"))[1] is None
        advance_invoiced_clock(boxes)
        void_on_invoiced(boxes, f"/payments/{payment['id']}")
        void_on_invoiced(boxes, f"/invoices/{invoice['id']}/void")

        counts, failure = run_sync(sync_job(boxes, store, "third"))

        assert failure is None, failure
        assert counts["payment"]["voided"] == 1 and counts["invoice"]["voided"] == 1
        voided = qbo_invoice(boxes, str(invoice["id"]))
        assert money(voided["TotalAmt"]) == 0 and voided["PrivateNote"].startswith("Voided")
        assert all(money(p.get("UnappliedAmt", 0)) == 0 for p in boxes.qbo_rows("Payment"))
        assert_books_match(boxes, boxes.realm_id)


def test_a_void_with_a_qbo_payment_still_applied_is_reported_not_left_as_credit(
    seeded: Sandboxes, store: StateStore
) -> None:
    advance_invoiced_clock(seeded)
    assert run_sync(sync_job(seeded, store, "first"))[1] is None
    invoice = open_invoice(seeded)
    in_qbo = qbo_invoice(seeded, str(invoice["id"]))
    seeded.qbo("payment", "POST", {
        "CustomerRef": in_qbo["CustomerRef"], "TotalAmt": 5,
        "Line": [{"Amount": 5, "LinkedTxn": [{"TxnId": in_qbo["Id"], "TxnType": "Invoice"}]}],
    })
    advance_invoiced_clock(seeded)
    void_on_invoiced(seeded, f"/invoices/{invoice['id']}/void")

    job = sync_job(seeded, store, "second")
    _, failure = run_sync(job)

    assert failure is not None and "still has payments applied" in str(failure)
    [error] = [e for e in store.open_errors(job.company) if e.source_id == str(invoice["id"])]
    assert error.code == "payments_applied" and error.hint
    kept = qbo_invoice(seeded, str(invoice["id"]))
    assert money(kept["TotalAmt"]) == money(in_qbo["TotalAmt"]) and money(kept["Balance"]) == money(kept["TotalAmt"]) - 5
    assert all(money(p.get("UnappliedAmt", 0)) == 0 for p in seeded.qbo_rows("Payment"))


class Killed(Exception):
    """The worker dies after QBO wrote a batch and before its answer was applied."""


@pytest.mark.parametrize("entity", ["Customer", "Invoice", "Payment"])
def test_a_write_killed_before_its_answer_and_resumed_after_qbo_forgot_the_requestid_makes_no_duplicate(
    seeded: Sandboxes, store: StateStore, monkeypatch: pytest.MonkeyPatch, entity: str
) -> None:
    original = BatchWriter._record
    killed: list[str] = []

    def die_once(writer: BatchWriter, chunk: list[Any], answers: dict[Any, Any]) -> None:
        if writer.entity == entity and not killed:
            killed.append(entity)
            raise Killed()
        original(writer, chunk, answers)

    monkeypatch.setattr(BatchWriter, "_record", die_once)
    with pytest.raises(Killed):
        run_sync(sync_job(seeded, store, "killed"))
    monkeypatch.setattr(BatchWriter, "_record", original)
    assert store.pending_intents(sync_job(seeded, store, "probe").company)
    seeded.qbo_clock(advance_seconds=25 * 3600)  # past QBO's requestid retention

    assert run_sync(sync_job(seeded, store, "resumed"))[1] is None

    assert_no_duplicates(seeded)
    assert_books_match(seeded, seeded.realm_id)


def test_lost_answers_are_read_back_not_resent(seeded: Sandboxes, store: StateStore) -> None:
    seeded.faults("qbo", probability=1.0, kinds=["drop"], seed=1)
    assert run_sync(sync_job(seeded, store, "dropped"))[1] is None
    seeded.faults("qbo", probability=0, kinds=[])
    seeded.qbo_clock(advance_seconds=25 * 3600)
    seeded.reset_stats()
    assert run_sync(sync_job(seeded, store, "again"))[1] is None
    assert_no_duplicates(seeded)
    assert_books_match(seeded, seeded.realm_id)


def assert_no_duplicates(boxes: Sandboxes) -> None:
    customers = [c["DisplayName"].casefold() for c in boxes.qbo_rows("Customer")]
    assert len(customers) == len(set(customers))
    notes = [p["PrivateNote"] for p in boxes.qbo_rows("Payment")]
    assert len(notes) == len(set(notes)), "a payment was written twice"
    invoices = [i["DocNumber"] for i in boxes.qbo_rows("Invoice")]
    assert len(invoices) == len(set(invoices))
