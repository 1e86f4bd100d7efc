"""Several transaction batches in flight at once, with a fake transport that answers from
whichever thread sends: they overlap up to ``batches_in_flight`` and never beyond QBO's
concurrent requests; name-list writes go one at a time; each batch is journaled before it
is sent; a lost answer is read back without resending the others; the next phase starts
only once this one is answered. Overlap is proven with barriers, not with timings: a
barrier of n parties passes only when n batches are in flight together."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests

from accounting_sync.qbo_sync.writer import BatchWriter, WriteOp
from accounting_sync.store.facade import StateStore
from tests.support.fake_qbo import ConcurrentQbo, Sent, batch_answer, qbo_client, rows

pytestmark = pytest.mark.usefixtures("no_waits")

COMPANY, FLOW, RUN = "acme", "qbo_sync", "manual__1"
PATIENCE = 30.0  # seconds a barrier waits before the test fails: only reached when it would fail anyway


def invoice(number: int) -> WriteOp:
    payload = {"CustomerRef": {"value": str(number)}, "TxnDate": "2026-11-02", "DocNumber": f"INV-{number}",
               "PrivateNote": f"Invoiced invoice {number}", "Line": []}
    return WriteOp("invoice", str(number), "create", payload, f"hash-{number}", f"INV-{number}")


def invoices(count: int) -> list[WriteOp]:
    return [invoice(n) for n in range(1, count + 1)]


def writer(store: StateStore, session: ConcurrentQbo, entity: str = "Invoice", **limits: Any) -> BatchWriter:
    return BatchWriter(store, qbo_client(session, **limits), COMPANY, FLOW, RUN, entity)


def journal(store: StateStore) -> set[str]:
    return {intent.request_id for intent in store.pending_intents(COMPANY)}


def held_together(parties: int, entity: str, first: int | None = None) -> Callable[[Sent], requests.Response]:
    """Answers batches only ``parties`` at a time (the first ``first`` batches, else all):
    fewer in flight together and the barrier breaks the test."""
    barrier = threading.Barrier(parties, timeout=PATIENCE)
    seen = 0
    lock = threading.Lock()

    def answer(sent: Sent) -> requests.Response:
        nonlocal seen
        with lock:
            seen += 1
            held = first is None or seen <= first
        if held:
            barrier.wait()
        return batch_answer(entity)(sent)

    return answer


def test_transaction_batches_overlap_up_to_the_limit(store: StateStore) -> None:
    session = ConcurrentQbo(held_together(3, "Invoice"))

    outcome = writer(store, session, batches_in_flight=3).write(invoices(180))

    assert len(session.batches()) == 6 and session.peak == 3
    assert len(outcome.created) == 180 and outcome.failed == [] and journal(store) == set()


def test_never_more_batches_in_flight_than_qbo_allows_concurrent_requests(store: StateStore) -> None:
    session = ConcurrentQbo(held_together(2, "Invoice"))

    outcome = writer(store, session, batches_in_flight=10, concurrent=2).write(invoices(120))

    assert len(session.batches()) == 4 and session.peak == 2
    assert len(outcome.created) == 120


def test_name_list_writes_go_one_at_a_time(store: StateStore) -> None:
    """QBO refuses overlapping customer or item writes (6000). Each batch is held until
    another arrives or a moment passes: one sent alongside would be caught."""
    another = threading.Event()

    def answer(sent: Sent) -> requests.Response:
        if session.in_flight > 1:
            another.set()
        another.wait(timeout=0.3)
        return batch_answer("Customer")(sent)

    session = ConcurrentQbo(answer)
    customers = [WriteOp("customer", str(n), "create", {"DisplayName": f"Customer {n}"}, None, None) for n in range(90)]

    outcome = writer(store, session, "Customer", batches_in_flight=5).write(customers)

    assert len(session.batches()) == 3 and session.peak == 1 and not another.is_set()
    assert len(outcome.created) == 90


def test_every_batch_is_journaled_before_it_is_sent_whatever_else_is_in_flight(store: StateStore) -> None:
    held = held_together(3, "Invoice")
    journaled: list[bool] = []

    def answer(sent: Sent) -> requests.Response:
        journaled.append(sent.requestid in journal(store))
        return held(sent)

    session = ConcurrentQbo(answer)
    writer(store, session, batches_in_flight=3).write(invoices(180))

    assert journaled == [True] * 6
    assert journal(store) == set()


def test_a_lost_answer_in_one_batch_is_read_back_without_resending_the_others(store: StateStore) -> None:
    """The second batch's answer is lost while two others are in flight; nothing of it was
    written. Only its records are looked up in QBO, and only it is sent again, under its id."""
    held = held_together(3, "Invoice", first=3)
    lost: list[str] = []
    lock = threading.Lock()

    def answer(sent: Sent) -> requests.Response:
        if sent.path == "query":
            return rows("Invoice", [])
        response = held(sent)
        with lock:
            if sent.items[0]["Invoice"]["DocNumber"] == "INV-31" and not lost:
                lost.append(str(sent.requestid))
                raise requests.ConnectionError("answer lost")
        return response

    session = ConcurrentQbo(answer)
    outcome = writer(store, session, batches_in_flight=3).write(invoices(90))

    sent_ids = [b.requestid for b in session.batches()]
    assert sorted(sent_ids.count(rid) for rid in set(sent_ids)) == [1, 1, 2]
    assert sent_ids.count(lost[0]) == 2
    [query] = [s for s in session.sent if s.path == "query"]
    assert "'31'" in query.body and "'60'" in query.body and "'30'" not in query.body and "'61'" not in query.body
    assert len(outcome.created) == 90 and journal(store) == set()


def test_the_next_phase_is_sent_only_once_every_batch_of_this_one_is_answered(store: StateStore) -> None:
    """Invoices before the payments that link them: ``write`` returns once all are answered."""

    def answer(sent: Sent) -> requests.Response:
        entity = "Payment" if "Payment" in sent.items[0] else "Invoice"
        return batch_answer(entity)(sent)

    session = ConcurrentQbo(answer)
    writer(store, session, batches_in_flight=4).write(invoices(240))
    mapped = store.get_mappings(COMPANY, "invoice")
    payments = [
        WriteOp("payment", key, "create", {"CustomerRef": {"value": key}, "TxnDate": "2026-11-02", "TotalAmt": 1,
                                           "Line": [{"Amount": 1, "LinkedTxn": [{"TxnId": record.qbo_id,
                                                                                 "TxnType": "Invoice"}]}]}, None, None)
        for key, record in sorted(mapped.items())
    ]
    writer(store, session, "Payment", batches_in_flight=4).write(payments)

    order = [(event, "Payment" in sent.items[0]) for event, sent in session.events if sent.path == "batch"]
    last_invoice_answered = max(i for i, (event, payment) in enumerate(order) if event == "answered" and not payment)
    first_payment_sent = min(i for i, (event, payment) in enumerate(order) if event == "sent" and payment)
    assert len(payments) == 240 and last_invoice_answered < first_payment_sent


def test_a_batch_that_fails_outright_stops_the_round_and_only_it_stays_journaled(store: StateStore) -> None:
    """What was in flight beside it is answered and recorded; its own entry stays in the
    journal for the next run to settle."""
    held = held_together(3, "Invoice", first=3)
    died: list[str] = []

    def answer(sent: Sent) -> requests.Response:
        response = held(sent)
        if sent.items[0]["Invoice"]["DocNumber"] == "INV-31":
            died.append(str(sent.requestid))
            raise RuntimeError("worker died")
        return response

    session = ConcurrentQbo(answer)
    with pytest.raises(RuntimeError):
        writer(store, session, batches_in_flight=3).write(invoices(180))

    assert journal(store) == set(died)
    answered = len(session.batches()) - 1
    assert len(store.get_mappings(COMPANY, "invoice")) == 30 * answered
