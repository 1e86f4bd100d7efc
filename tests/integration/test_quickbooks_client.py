"""QuickBooksClient against the QBO sandbox: retries, requestid, token refresh, faults."""

from __future__ import annotations

import pytest
import requests

from accounting_sync.quickbooks.client import QuickBooksClient
from accounting_sync.quickbooks.faults import AmbiguousWriteError, QboFault
from accounting_sync.quickbooks.oauth import QuickBooksConnectionExpired, TokenManager
from accounting_sync.store.facade import StateStore
from tests.support.sandboxes import Sandboxes


@pytest.fixture
def client(boxes: Sandboxes, store: StateStore) -> QuickBooksClient:
    boxes.reset(seed_invoiced=False)
    boxes.faults("qbo", probability=0, kinds=[])
    manager = boxes.connect(store)
    return QuickBooksClient(boxes.qbo_config(throttle_wait_seconds=0.1), manager, max_attempts=6)


def customers(boxes: Sandboxes) -> list[dict[str, object]]:
    return boxes.qbo_rows("Customer")


def test_a_dropped_answer_is_retried_with_the_same_requestid_and_writes_once(
    boxes: Sandboxes, client: QuickBooksClient
) -> None:
    """Every answer is cut; the retry's replay by requestid is how the client learns the id."""
    boxes.faults("qbo", probability=1.0, kinds=["drop"], seed=1)
    created = client.write("Customer", {"DisplayName": "Dropped Co"}, "req-drop-1")
    boxes.faults("qbo", probability=0, kinds=[])
    assert created["DisplayName"] == "Dropped Co"
    assert [c["DisplayName"] for c in customers(boxes)] == ["Dropped Co"]


def test_a_write_that_never_gets_an_answer_is_reported_as_ambiguous(
    boxes: Sandboxes, client: QuickBooksClient
) -> None:
    boxes.faults("qbo", probability=1.0, kinds=["500"], seed=1)
    client.max_attempts = 2
    with pytest.raises(AmbiguousWriteError):
        client.write("Customer", {"DisplayName": "Unknown Co"}, "req-unknown-1")
    boxes.faults("qbo", probability=0, kinds=[])


def test_transient_faults_are_retried_until_they_pass(boxes: Sandboxes, client: QuickBooksClient) -> None:
    boxes.faults("qbo", probability=0.5, kinds=["500", "503", "429", "drop"], seed=11)
    for n in range(10):
        client.write("Customer", {"DisplayName": f"Retry Co {n}"}, f"req-retry-{n}")
    boxes.faults("qbo", probability=0, kinds=[])
    assert sorted(c["DisplayName"] for c in customers(boxes)) == sorted(f"Retry Co {n}" for n in range(10))


def test_permanent_faults_carry_code_detail_and_hint(client: QuickBooksClient) -> None:
    client.write("Customer", {"DisplayName": "Twin"}, "req-twin-1")
    with pytest.raises(QboFault) as raised:
        client.write("Customer", {"DisplayName": "Twin"}, "req-twin-2")
    assert raised.value.code == "6240" and raised.value.hint and not raised.value.transient


def test_an_expired_access_token_is_refreshed_once_on_401(boxes: Sandboxes, client: QuickBooksClient) -> None:
    with client.tokens.store.locked_token("default") as row:
        row.access_token_enc = client.tokens._encrypt("expired-or-forged")
    client.tokens._cached = None
    assert client.query("SELECT COUNT(*) FROM Customer")["totalCount"] == 0
    assert client.tokens.status().version >= 2  # type: ignore[union-attr]


def test_a_revoked_refresh_token_asks_for_a_reconnect(boxes: Sandboxes, client: QuickBooksClient) -> None:
    manager: TokenManager = client.tokens
    with manager.store.locked_token("default") as row:
        row.access_expires_at = None
    manager._cached = None
    refresh = manager._decrypt(manager.status().refresh_token_enc)  # type: ignore[union-attr]
    requests.post(
        boxes.qbo_config().revoke_url,
        json={"token": refresh},
        auth=(boxes.qbo_info["client_id"], boxes.qbo_info["client_secret"]),
        timeout=10,
    ).raise_for_status()
    with pytest.raises(QuickBooksConnectionExpired, match="reconnect in Accounting Sync"):
        client.query("SELECT * FROM Customer")
    assert manager.status().status == "expired"  # type: ignore[union-attr]


def test_queries_page_through_everything(client: QuickBooksClient) -> None:
    items = [
        {"bId": f"b{n}", "operation": "create", "Customer": {"DisplayName": f"Paged {n:04d}"}} for n in range(30)
    ]
    for batch in range(40):
        client.batch(
            [{**item, "Customer": {"DisplayName": f"{item['Customer']['DisplayName']}-{batch}"}} for item in items],
            f"req-page-{batch}",
        )
    rows = list(client.query_rows("Customer"))
    assert len(rows) == 1200 and len({r["Id"] for r in rows}) == 1200
