"""QuickBooks reference data (preferences, account and tax-code ids) is read once per
lifetime, not every run; a write refused for a stale reference drops it at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from accounting_sync.common.values import RecordRejected
from accounting_sync.config.settings import resolve_settings
from accounting_sync.qbo_sync.setup import QboSetup
from accounting_sync.qbo_sync.writer import record_fault
from accounting_sync.quickbooks.faults import QboFault
from accounting_sync.store.facade import StateStore
from tests.support.fake_http import response
from tests.support.fake_qbo import FakeQbo, qbo_client, rows

COMPANY = "default"
PREFERENCES = {"Preferences": {"CurrencyPrefs": {"HomeCurrency": {"value": "USD"}}}}


def setup(store: StateStore, session: FakeQbo, **settings: Any) -> QboSetup:
    """The setup of one run: each run builds its own."""
    return QboSetup(store, qbo_client(session), COMPANY, resolve_settings(settings))


def test_preferences_are_read_once_in_their_lifetime(store: StateStore) -> None:
    session = FakeQbo(response(200, PREFERENCES))

    assert [setup(store, session).home_currency() for _ in range(3)] == ["USD"] * 3

    assert len(session.sent) == 1  # three runs, one read


def test_a_lifetime_of_zero_reads_them_every_run(store: StateStore) -> None:
    session = FakeQbo(response(200, PREFERENCES), response(200, PREFERENCES))

    for _ in range(2):
        setup(store, session, qbo_cache_hours=0).home_currency()

    assert len(session.sent) == 2


def test_an_entry_expires_with_its_lifetime(store: StateStore) -> None:
    store.cache_read(COMPANY, "preferences", {"a": 1})

    assert store.cached_read(COMPANY, "preferences", timedelta(hours=6)) == {"a": 1}
    assert store.cached_read(COMPANY, "preferences", timedelta(0)) is None
    assert store.cached_read("other", "preferences", timedelta(hours=6)) is None


def test_account_ids_are_kept_until_a_write_refuses_a_stale_reference(store: StateStore) -> None:
    income = resolve_settings({}).income_account
    session = FakeQbo(rows("Account", [{"Id": "81", "Name": income.name}]),
                      rows("Account", [{"Id": "82", "Name": income.name}]))

    assert [setup(store, session).account(income) for _ in range(2)] == ["81", "81"]
    assert len(session.sent) == 1

    # The account was deleted (made inactive) in QBO: an item referring to it is refused.
    refused = QboFault(400, "2500", "Invalid Reference Id", "Invalid Reference Id : Accounts element id 81 not found")
    record_fault(store, COMPANY, "qbo_sync", "run-2", "item", "sku:1", None, refused)

    assert setup(store, session).account(income) == "82"  # found again
    assert len(session.sent) == 2


def test_other_refusals_keep_the_cache(store: StateStore) -> None:
    store.cache_read(COMPANY, "taxcode:Invoiced Sales Tax", "7")

    record_fault(store, COMPANY, "qbo_sync", "run-2", "invoice", "1", "INV-1", QboFault(400, "6140", "Duplicate"))

    assert store.cached_read(COMPANY, "taxcode:Invoiced Sales Tax", timedelta(hours=1)) == "7"


def test_classes_are_read_once_and_a_missing_one_is_read_again_before_it_fails(store: StateStore) -> None:
    session = FakeQbo(rows("Class", [{"Id": "5", "Name": "Retail"}]),
                      rows("Class", [{"Id": "5", "Name": "Retail"}]))

    assert [setup(store, session).list_id("$class", "retail") for _ in range(2)] == ["5", "5"]
    assert len(session.sent) == 1  # cached like accounts
    with pytest.raises(RecordRejected) as missing:
        setup(store, session).list_id("$class", "Wholesale")
    assert len(session.sent) == 2  # perhaps added since: read again, once
    assert missing.value.code == "missing_class"
    assert "qbo_class" in str(missing.value) and "never creates" in (missing.value.hint or "")
