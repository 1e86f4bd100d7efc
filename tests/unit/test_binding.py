"""The rules that tie a company's sync state to one QBO company and one Invoiced account,
with an Invoiced stand-in (no HTTP): binding, holds, key rotation, starting afresh."""

from __future__ import annotations

from typing import Any, cast

import pytest

from accounting_sync.common import binding
from accounting_sync.config.connections import InvoicedConfig, QuickBooksConfig
from accounting_sync.invoiced.client import InvoicedClient, InvoicedError
from accounting_sync.quickbooks.oauth import QuickBooksNotConnected, TokenManager
from accounting_sync.store.bindings import StateHeld
from accounting_sync.store.facade import StateStore
from accounting_sync.store.idmap import ORIGIN_INVOICED, MappedRecord

COMPANY = "default"


class FakeInvoiced:
    """One Invoiced account reached with one key: its customers by id."""

    def __init__(self, customers: dict[int, int], key: str = "key-1") -> None:
        self.customers = customers  # id -> created_at
        self.config = InvoicedConfig(api_base="https://api.invoiced.test", api_key=key)
        self.calls: list[str] = []

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        self.calls.append(path)
        if path == "/customers":
            per_page = (params or {}).get("per_page", 100)
            return [{"id": i, "created_at": c} for i, c in sorted(self.customers.items())][:per_page]
        customer_id = int(path.rsplit("/", 1)[1])
        if customer_id not in self.customers:
            raise InvoicedError(404, "invalid_request", f"Customer was not found: {customer_id}")
        return {"id": customer_id, "created_at": self.customers[customer_id]}


def client(fake: FakeInvoiced) -> InvoicedClient:
    return cast(InvoicedClient, fake)


ACCOUNT = {11: 1_700_000_000, 12: 1_700_000_100}


def some_state(store: StateStore, scope: str) -> None:
    store.put_mappings(scope, "invoice", [MappedRecord("5", "145", "0", "h", ORIGIN_INVOICED)])


def test_the_first_run_binds_the_pair_and_keeps_state_where_it_was(store: StateStore) -> None:
    scope = binding.resolve(store, COMPANY, "realm-a", client(FakeInvoiced(ACCOUNT)))
    assert scope == binding.Scope(COMPANY, "realm-a")  # state from before bindings stays valid
    active = binding.status(store, COMPANY).active
    assert active is not None and active.invoiced_anchors["customers"][0] == {"id": 11, "created_at": 1_700_000_000}


def test_no_connection_is_refused_before_anything_is_read(store: StateStore) -> None:
    with pytest.raises(QuickBooksNotConnected):
        binding.resolve(store, COMPANY, None, client(FakeInvoiced(ACCOUNT)))


def test_another_quickbooks_company_holds_until_the_original_is_back(store: StateStore) -> None:
    invoiced = client(FakeInvoiced(ACCOUNT))
    binding.resolve(store, COMPANY, "realm-a", invoiced)
    with pytest.raises(StateHeld, match="connected to company realm-b"):
        binding.resolve(store, COMPANY, "realm-b", invoiced)
    [hold] = binding.status(store, COMPANY).holds
    assert (hold.side, hold.found) == ("quickbooks", "realm-b")

    assert binding.resolve(store, COMPANY, "realm-a", invoiced).key == COMPANY
    assert binding.status(store, COMPANY).holds == []


def test_starting_afresh_keeps_the_old_state_and_reconnecting_brings_it_back(store: StateStore) -> None:
    invoiced = client(FakeInvoiced(ACCOUNT))
    binding.resolve(store, COMPANY, "realm-a", invoiced)
    some_state(store, COMPANY)

    fresh, resumed = binding.start_afresh(store, COMPANY, "realm-b", invoiced)
    assert not resumed and fresh.key != COMPANY and store.get_mappings(fresh.key, "invoice") == {}
    assert binding.resolve(store, COMPANY, "realm-b", invoiced) == fresh
    assert store.get_mappings(COMPANY, "invoice")["5"].qbo_id == "145"  # kept, not deleted

    with pytest.raises(StateHeld):
        binding.resolve(store, COMPANY, "realm-a", invoiced)
    back, resumed = binding.start_afresh(store, COMPANY, "realm-a", invoiced)
    assert resumed and back.key == COMPANY
    assert binding.resolve(store, COMPANY, "realm-a", invoiced).key == COMPANY
    assert binding.active_scope_key(store, COMPANY) == COMPANY


def test_a_rotated_key_of_the_same_account_keeps_the_state_silently(store: StateStore) -> None:
    binding.resolve(store, COMPANY, "realm-a", client(FakeInvoiced(ACCOUNT)))
    some_state(store, COMPANY)
    rotated = FakeInvoiced(ACCOUNT, key="key-2")
    assert binding.resolve(store, COMPANY, "realm-a", client(rotated)).key == COMPANY
    rotated.calls.clear()
    binding.resolve(store, COMPANY, "realm-a", client(rotated))
    assert rotated.calls == []  # the new key is remembered: no probe on every run


@pytest.mark.parametrize(
    "other",
    [
        {21: 1_700_000_000, 22: 1_700_000_100},  # ids from a shared sequence: none of ours exists
        {11: 1_650_000_000, 12: 1_650_000_100},  # ids numbered per account: same ids, other records
    ],
    ids=["shared-ids", "per-account-ids"],
)
def test_another_invoiced_account_holds_the_sync(store: StateStore, other: dict[int, int]) -> None:
    binding.resolve(store, COMPANY, "realm-a", client(FakeInvoiced(ACCOUNT)))
    some_state(store, COMPANY)
    stranger = client(FakeInvoiced(other, key="key-other"))
    with pytest.raises(StateHeld, match="another Invoiced account"):
        binding.resolve(store, COMPANY, "realm-a", stranger)
    assert [h.side for h in binding.status(store, COMPANY).holds] == ["invoiced"]
    # Still held on the next run, and the original key still works.
    with pytest.raises(StateHeld):
        binding.resolve(store, COMPANY, "realm-a", stranger)
    assert binding.resolve(store, COMPANY, "realm-a", client(FakeInvoiced(ACCOUNT))).key == COMPANY
    assert binding.status(store, COMPANY).holds == []


def test_a_person_may_confirm_that_the_new_key_is_the_same_account(store: StateStore) -> None:
    binding.resolve(store, COMPANY, "realm-a", client(FakeInvoiced(ACCOUNT)))
    some_state(store, COMPANY)
    renumbered = client(FakeInvoiced({31: 1}, key="key-2"))  # its anchors were all deleted
    with pytest.raises(StateHeld):
        binding.resolve(store, COMPANY, "realm-a", renumbered)
    binding.confirm_same_invoiced_account(store, COMPANY, renumbered)
    assert binding.resolve(store, COMPANY, "realm-a", renumbered).key == COMPANY


def test_an_account_without_customers_is_recognised_once_it_has_some(store: StateStore) -> None:
    empty = FakeInvoiced({})
    binding.resolve(store, COMPANY, "realm-a", client(empty))
    # A new key while nothing is synced: nothing can be harmed, the key is adopted.
    assert binding.resolve(store, COMPANY, "realm-a", client(FakeInvoiced({}, key="key-2"))).key == COMPANY
    grown = FakeInvoiced(ACCOUNT, key="key-2")
    binding.resolve(store, COMPANY, "realm-a", client(grown))
    active = binding.status(store, COMPANY).active
    assert active is not None and [a["id"] for a in active.invoiced_anchors["customers"]] == [11, 12]
    some_state(store, COMPANY)
    with pytest.raises(StateHeld):
        binding.resolve(store, COMPANY, "realm-a", client(FakeInvoiced({}, key="key-3")))


def test_the_token_manager_refuses_a_token_of_another_company_than_its_state(store: StateStore) -> None:
    config = QuickBooksConfig(api_base="https://qbo.test", client_id="id", client_secret="secret")
    TokenManager(store, COMPANY, config).save({"access_token": "at", "refresh_token": "rt", "expires_in": 3600}, "realm-b")
    with pytest.raises(StateHeld, match="reconnected to company realm-b"):
        TokenManager(store, COMPANY, config, realm_id="realm-a").access_token()
    assert TokenManager(store, COMPANY, config, realm_id="realm-b").access_token().value == "at"
