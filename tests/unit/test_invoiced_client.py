"""The Invoiced client with a fake transport: exactly-once writes (what is resent, under which
key, and when the read-back decides instead) and paging that keeps the key on Invoiced.

Invoiced caches every answer of an Idempotency-Key for a day, 5xx included, and holds no
lock per key (real-service-behaviour.md §2.2): a same-key retry of a 500 is wasted and a
same-key retry during a slow first attempt runs it twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from accounting_sync.config.connections import InvoicedConfig
from accounting_sync.invoiced.client import InvoicedClient, InvoicedError, UnconfirmedWrite
from tests.support.fake_http import response

Answer = Callable[[], requests.Response] | type[Exception]
CREATED = {"id": 7, "name": "Acme"}


class FakeSession(requests.Session):
    """Answers requests from a script and keeps what was sent."""

    def __init__(self, *answers: Answer) -> None:
        super().__init__()
        self.answers = list(answers)
        self.sent: list[tuple[str, str | None]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append((method, (kwargs.get("headers") or {}).get("Idempotency-Key")))
        answer = self.answers.pop(0)
        if isinstance(answer, type):
            raise answer("scripted")
        return answer()


def client(session: FakeSession) -> InvoicedClient:
    return InvoicedClient(InvoicedConfig(api_base="https://invoiced.test", api_key="secret"), session=session)


pytestmark = pytest.mark.usefixtures("no_waits")


def server_error() -> requests.Response:
    return response(500, {"type": "api_error", "message": "There was an error processing your request."})


def created() -> requests.Response:
    return response(201, CREATED)


class ReadBack:
    def __init__(self, *found: dict[str, Any] | None) -> None:
        self.found, self.calls = list(found), 0

    def __call__(self) -> dict[str, Any] | None:
        self.calls += 1
        return self.found.pop(0)


def test_a_500_not_written_is_resent_under_a_fresh_key_because_the_old_one_replays_the_500() -> None:
    session, read_back = FakeSession(server_error, created), ReadBack(None)
    assert client(session).post("/customers", {"name": "Acme"}, "key-123456", read_back) == CREATED
    assert session.sent == [("POST", "key-123456"), ("POST", "key-123456~1")]
    assert read_back.calls == 1


def test_a_500_after_the_write_is_settled_by_the_read_back_without_a_second_post() -> None:
    session, read_back = FakeSession(server_error), ReadBack(CREATED)
    assert client(session).post("/customers", {"name": "Acme"}, "key-123456", read_back) == CREATED
    assert session.sent == [("POST", "key-123456")]


@pytest.mark.parametrize("lost", [requests.ReadTimeout, requests.ConnectionError,
                                  requests.exceptions.ChunkedEncodingError])
def test_a_lost_answer_is_never_resent_while_the_first_attempt_may_still_run(lost: type[Exception]) -> None:
    session, read_back = FakeSession(lost), ReadBack(None)
    with pytest.raises(UnconfirmedWrite, match="read back"):
        client(session).post("/payments", {"amount": 5}, "key-123456", read_back)
    assert session.sent == [("POST", "key-123456")]


def test_a_lost_answer_found_by_the_read_back_is_the_record() -> None:
    session = FakeSession(requests.ReadTimeout)
    assert client(session).post("/payments", {"amount": 5}, "key-123456", ReadBack(CREATED)) == CREATED


@pytest.mark.parametrize("before_the_key", [
    lambda: response(429, {"type": "rate_limit_error", "message": "Too many requests"}),
    requests.ConnectTimeout,
])
def test_a_write_refused_before_its_key_was_read_is_resent_with_the_same_key(before_the_key: Answer) -> None:
    session, read_back = FakeSession(before_the_key, created), ReadBack()
    assert client(session).post("/customers", {"name": "Acme"}, "key-123456", read_back) == CREATED
    assert session.sent == [("POST", "key-123456"), ("POST", "key-123456")]
    assert read_back.calls == 0


def test_an_ambiguous_patch_is_sent_again_under_a_fresh_key() -> None:
    session = FakeSession(requests.ReadTimeout, server_error, lambda: response(200, CREATED))
    assert client(session).patch("/customers/7", {"name": "Acme"}, "key-123456") == CREATED
    assert [key for _, key in session.sent] == ["key-123456", "key-123456~1", "key-123456~2"]


def test_a_refusal_is_raised_as_it_came() -> None:
    refused = FakeSession(lambda: response(400, {"type": "invalid_request", "message": "Bad", "param": "name"}))
    with pytest.raises(InvoicedError) as error:
        client(refused).post("/customers", {}, "key-123456", ReadBack())
    assert (error.value.status, error.value.param) == (400, "name")


def test_fresh_keys_stay_within_invoiceds_64_characters() -> None:
    key = "qbo-import-" + "a" * 40
    session = FakeSession(*[server_error] * 8)
    with pytest.raises(InvoicedError, match="kept failing"):
        client(session).post("/customers", {}, key, ReadBack(*[None] * 8))
    assert all(6 <= len(sent) <= 64 for _, sent in session.sent if sent)
    assert len({sent for _, sent in session.sent}) == 8


def page(records: list[dict[str, Any]], next_url: str | None) -> Callable[[], requests.Response]:
    def answer() -> requests.Response:
        listed = response(200, records)
        if next_url:
            listed.headers["Link"] = f'<{next_url}>; rel="next"'
        return listed

    return answer


def test_paging_follows_next_links_on_the_api_base() -> None:
    session = FakeSession(page([{"id": 1}], "https://invoiced.test/customers?page=2"), page([{"id": 2}], None))
    assert [c["id"] for c in client(session).iter_list("/customers")] == [1, 2]


@pytest.mark.parametrize("elsewhere", [
    "https://attacker.test/customers?page=2",
    "http://invoiced.test/customers?page=2",
    "https://invoiced.test:8443/customers?page=2",
])
def test_a_next_link_to_another_origin_is_not_followed_with_the_key(elsewhere: str) -> None:
    session = FakeSession(page([{"id": 1}], elsewhere))
    with pytest.raises(InvoicedError, match="another origin"):
        list(client(session).iter_list("/customers"))
    assert len(session.sent) == 1
