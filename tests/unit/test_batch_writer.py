"""The QBO batch writer and its journal, with a fake transport: every batch is journaled
before it is sent and dropped once its answers are recorded; a lost answer is read back
and resent under the same requestid; an interrupted run's batch is replayed from the
journal with the requestid it was first sent with."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import requests

from accounting_sync.qbo_sync.writer import BATCH_SIZE_KEY, BatchWriter, WriteOp, replay_journal
from accounting_sync.store.facade import StateStore
from tests.support.fake_qbo import FakeQbo, Sent, batch_answer, fault, item_fault, qbo_client, rows, written

pytestmark = pytest.mark.usefixtures("no_waits")

COMPANY, FLOW, RUN = "acme", "qbo_sync", "manual__1"


def create(source_id: str, name: str) -> WriteOp:
    return WriteOp("customer", source_id, "create", {"DisplayName": name}, f"hash-{source_id}", f"C-{source_id}")


def writer(store: StateStore, session: FakeQbo, **kwargs: Any) -> BatchWriter:
    return BatchWriter(store, qbo_client(session), COMPANY, FLOW, RUN, "Customer", **kwargs)


def qbo_ids(store: StateStore) -> dict[str, str]:
    return {key: record.qbo_id for key, record in store.get_mappings(COMPANY, "customer").items()}


def journal(store: StateStore) -> list[str]:
    return [intent.request_id for intent in store.pending_intents(COMPANY)]


def test_a_batch_is_journaled_before_it_is_sent_and_dropped_once_recorded(store: StateStore) -> None:
    def answer(sent: Sent) -> requests.Response:
        assert journal(store) == [sent.requestid], "journaled before it is sent"
        return batch_answer("Customer")(sent)

    session = FakeQbo(answer)
    outcome = writer(store, session).write([create("1", "Acme"), create("2", "Beta")])

    assert (outcome.created, outcome.failed) == (["1", "2"], [])
    assert qbo_ids(store) == {"1": "100", "2": "101"}
    assert journal(store) == [] and len(session.batches()) == 1


def test_a_transient_item_fault_is_retried_in_the_next_round_under_a_new_requestid(store: StateStore) -> None:
    first = batch_answer("Customer", lambda i, item: item_fault("3001") if i == 1 else written("Customer", item, i))
    session = FakeQbo(first, batch_answer("Customer"))

    outcome = writer(store, session).write([create("1", "Acme"), create("2", "Beta")])

    assert outcome.created == ["1", "2"] and outcome.failed == []
    retried = session.batches()[1]
    assert [item["Customer"]["DisplayName"] for item in retried.items] == ["Beta"]
    assert retried.requestid != session.batches()[0].requestid
    assert journal(store) == [] and store.open_errors(COMPANY) == []


def test_a_5010_reads_the_current_sync_token_and_sends_the_update_again(store: StateStore) -> None:
    refreshed: list[list[str]] = []

    def refresh_tokens(ops: list[WriteOp]) -> list[WriteOp]:
        refreshed.append([op.source_id for op in ops])
        return [dataclasses.replace(op, payload={**op.payload, "SyncToken": "4"}) for op in ops]

    update = WriteOp("customer", "1", "update", {"Id": "58", "SyncToken": "3", "sparse": True, "Notes": "x"}, "h", "C-1")
    stale = batch_answer("Customer", lambda i, item: item_fault("5010", "Stale Object Error"))
    session = FakeQbo(stale, batch_answer("Customer"))

    outcome = writer(store, session, refresh_tokens=refresh_tokens).write([update])

    assert outcome.updated == ["1"] and refreshed == [["1"]]
    assert [b.items[0]["Customer"]["SyncToken"] for b in session.batches()] == ["3", "4"]
    assert qbo_ids(store) == {"1": "58"}


def test_a_batch_refused_whole_fails_each_record_with_its_reason_and_leaves_no_journal(store: StateStore) -> None:
    session = FakeQbo(fault(400, "2020", "Required param missing"))

    outcome = writer(store, session).write([create("1", "Acme"), create("2", "Beta")])

    assert outcome.failed == ["1", "2"] and outcome.created == []
    errors = store.open_errors(COMPANY, FLOW)
    assert [(e.source_id, e.document_number, e.code) for e in errors] == [("1", "C-1", "2020"), ("2", "C-2", "2020")]
    assert journal(store) == [] and len(session.batches()) == 1


def test_a_batch_refused_for_its_size_is_sent_again_in_tens_and_the_size_is_remembered(store: StateStore) -> None:
    session = FakeQbo(fault(400, "1040", "too many operations"), batch_answer("Customer"), batch_answer("Customer"))

    outcome = writer(store, session).write([create(str(n), f"Customer {n}") for n in range(12)])

    assert len(outcome.created) == 12
    assert [len(b.items) for b in session.batches()] == [12, 10, 2]
    assert store.get_cursor(COMPANY, BATCH_SIZE_KEY) == "10"
    assert journal(store) == []


def test_a_lost_answer_is_read_back_then_the_batch_resent_under_the_same_requestid(store: StateStore) -> None:
    session = FakeQbo(requests.ConnectionError, rows("Customer", []), batch_answer("Customer"))

    outcome = writer(store, session).write([create("1", "Acme"), create("2", "Beta")])

    first, again = session.batches()
    assert again.requestid == first.requestid and again.items == first.items
    assert outcome.created == ["1", "2"] and journal(store) == []


def test_what_a_lost_answer_had_written_is_recorded_and_only_the_rest_resent_under_a_new_id(store: StateStore) -> None:
    found = [{"Id": "77", "DisplayName": "Acme", "SyncToken": "0", "Active": True}]
    session = FakeQbo(requests.ConnectionError, rows("Customer", found), batch_answer("Customer"))

    outcome = writer(store, session).write([create("1", "Acme"), create("2", "Beta")])

    first, rest = session.batches()
    assert [item["Customer"]["DisplayName"] for item in rest.items] == ["Beta"]
    assert rest.requestid != first.requestid  # another set of records: QBO would replay the first answer
    assert sorted(outcome.created) == ["1", "2"] and qbo_ids(store) == {"1": "77", "2": "100"}


def interrupted_batch(store: StateStore, monkeypatch: pytest.MonkeyPatch) -> str:
    """A run that sent a batch and died before recording its answer: its journal entry."""

    def worker_dies(self: BatchWriter, chunk: list[WriteOp], answers: dict[Any, dict[str, Any]]) -> None:
        raise RuntimeError("worker died")

    with monkeypatch.context() as patched:
        patched.setattr(BatchWriter, "_record", worker_dies)
        with pytest.raises(RuntimeError):
            writer(store, FakeQbo(batch_answer("Customer"))).write([create("1", "Acme"), create("2", "Beta")])
    [request_id] = journal(store)
    return request_id


def test_an_interrupted_batch_is_replayed_from_the_journal_with_its_requestid(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id = interrupted_batch(store, monkeypatch)
    session = FakeQbo(rows("Customer", []), batch_answer("Customer"))  # QBO answers the replay as the first time

    settled = replay_journal(store, qbo_client(session), COMPANY, FLOW, "manual__2")

    [replayed] = session.batches()
    assert replayed.requestid == request_id
    assert settled == {("customer", "1"), ("customer", "2")}
    assert qbo_ids(store) == {"1": "100", "2": "101"} and journal(store) == []


def test_a_journaled_batch_found_in_qbo_is_recorded_without_being_sent_again(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    interrupted_batch(store, monkeypatch)
    found = [{"Id": "100", "DisplayName": "Acme", "SyncToken": "0"}, {"Id": "101", "DisplayName": "Beta", "SyncToken": "0"}]
    session = FakeQbo(rows("Customer", found))

    replay_journal(store, qbo_client(session), COMPANY, FLOW, "manual__2")

    assert session.batches() == []
    assert qbo_ids(store) == {"1": "100", "2": "101"} and journal(store) == []
