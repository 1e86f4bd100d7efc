"""The QuickBooks client's share of exactly-once, with a fake transport: a write keeps its
requestid while its fate is unknown (QBO replays the first answer), takes a new one after
an answer that proves nothing was written (QBO would replay that refusal), and a 401
refreshes the token once."""

from __future__ import annotations

import pytest
import requests

from accounting_sync.quickbooks.faults import AmbiguousWriteError, QboFault
from tests.support.fake_http import response
from tests.support.fake_qbo import FakeQbo, FakeTokens, fault, qbo_client

pytestmark = pytest.mark.usefixtures("no_waits")

CREATED = {"Customer": {"Id": "58", "DisplayName": "Acme", "SyncToken": "0"}}


def created() -> requests.Response:
    return response(200, CREATED)


def requestids(session: FakeQbo) -> list[str | None]:
    return [sent.requestid for sent in session.sent]


@pytest.mark.parametrize(
    "lost",
    [requests.ConnectionError, requests.Timeout, response(500, {}), response(503, {})],
    ids=["dropped", "timeout", "500", "503"],
)
def test_a_write_whose_fate_is_unknown_is_retried_under_the_same_requestid(lost: object) -> None:
    session = FakeQbo(lost, created())  # type: ignore[arg-type]

    assert qbo_client(session).write("Customer", {"DisplayName": "Acme"}, "rid-1") == CREATED["Customer"]

    assert requestids(session) == ["rid-1", "rid-1"]


@pytest.mark.parametrize(
    "refusal",
    [response(429, {}, {"Retry-After": "0"}), fault(400, "3001", "throttled"), fault(400, "6000", "one name at a time")],
    ids=["429", "3001", "6000-one-at-a-time"],
)
def test_a_retry_after_a_definite_refusal_gets_a_new_requestid(refusal: requests.Response) -> None:
    session = FakeQbo(refusal, created())

    qbo_client(session).write("Customer", {"DisplayName": "Acme"}, "rid-1")

    assert requestids(session) == ["rid-1", "rid-1-1"]


def test_the_requestid_follows_each_answer_a_run_of_faults_gets() -> None:
    session = FakeQbo(response(500, {}), response(429, {}), requests.ConnectionError, response(429, {}), created())

    qbo_client(session, max_attempts=5).write("Customer", {"DisplayName": "Acme"}, "rid-1")

    assert requestids(session) == ["rid-1", "rid-1", "rid-1-1", "rid-1-1", "rid-1-2"]


def test_a_write_that_never_gets_an_answer_is_ambiguous_and_a_refused_one_is_a_fault() -> None:
    with pytest.raises(AmbiguousWriteError):
        qbo_client(FakeQbo(*[response(500, {})] * 3), max_attempts=3).write("Customer", {}, "rid-1")
    with pytest.raises(QboFault) as refused:
        qbo_client(FakeQbo(fault(400, "6240", "name taken"))).write("Customer", {}, "rid-2")
    assert refused.value.code == "6240" and not refused.value.transient


def test_a_batch_whose_answer_is_lost_is_left_to_the_caller_instead_of_sent_again() -> None:
    session = FakeQbo(requests.ConnectionError)

    with pytest.raises(AmbiguousWriteError):
        qbo_client(session).batch([{"bId": "b0", "operation": "create", "Customer": {}}], "rid-1")

    assert len(session.sent) == 1


def test_a_401_refreshes_the_token_once_and_repeats_the_call_with_the_new_one() -> None:
    tokens = FakeTokens()
    session = FakeQbo(response(401, {}), created())

    qbo_client(session, tokens).write("Customer", {"DisplayName": "Acme"}, "rid-1")

    assert tokens.refreshes == 1
    assert [(sent.token, sent.requestid) for sent in session.sent] == [("token-1", "rid-1"), ("token-2", "rid-1")]


def test_a_second_401_is_not_refreshed_again() -> None:
    tokens = FakeTokens()
    session = FakeQbo(response(401, {}), fault(401, "3200", "AuthenticationFailed"))

    with pytest.raises(QboFault) as refused:
        qbo_client(session, tokens).read("Customer", "58")

    assert (tokens.refreshes, len(session.sent), refused.value.code) == (1, 2, "3200")
