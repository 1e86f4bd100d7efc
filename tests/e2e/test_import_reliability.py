"""qbo_import under failure, against both sandboxes: exactly once, locked, resumable, quiet."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from tenacity import wait_none

from accounting_sync.invoiced import client as invoiced
from accounting_sync.qbo_import import pipeline as importer
from accounting_sync.quickbooks.oauth import TokenManager
from accounting_sync.store.leases import LeaseHeld
from tests.e2e.import_harness import COMPANY, Pipelines

DEMO_OPEN_INVOICES = 13
DEMO_CUSTOMERS = 10


def test_lost_answers_and_server_errors_never_duplicate_a_record(
    pipelines: Pipelines, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(invoiced, "wait_exponential_jitter", lambda **_: wait_none())
    pipelines.boxes.faults("invoiced", probability=0.35, kinds=["drop", "500", "429"], seed=7)

    pipelines.run_import()

    failed = [row for row in pipelines.invoiced_writes() if row["status"] >= 500 or row["status"] == 429]
    assert failed, "the faults were not injected"
    pipelines.boxes.faults("invoiced", probability=0, kinds=[])
    assert len(pipelines.invoiced("GET", "/customers")) == DEMO_CUSTOMERS
    assert len(pipelines.invoiced("GET", "/invoices")) == DEMO_OPEN_INVOICES
    assert len(pipelines.invoiced("GET", "/payments")) == 3  # the three partly paid demo invoices
    for invoice in pipelines.invoiced("GET", "/invoices"):
        assert invoice["balance"] == pipelines.qbo_invoice(invoice["number"])["Balance"]


def test_it_waits_while_qbo_sync_writes_and_then_imports(pipelines: Pipelines) -> None:
    pipelines.store.acquire_lease(COMPANY, "writes", "qbo_sync/manual__running", timedelta(minutes=5))
    job = pipelines.job("qbo_import")
    importer.extract(job)

    with pytest.raises(LeaseHeld):
        importer.load(job)

    assert pipelines.invoiced_writes() == []
    assert pipelines.store.get_cursor(COMPANY, "qbo_import.invoices") is None
    pipelines.store.release_lease(COMPANY, "writes", "qbo_sync/manual__running")
    importer.load(job)  # the task's retry
    assert len(pipelines.invoiced("GET", "/invoices")) == DEMO_OPEN_INVOICES
    assert pipelines.store.get_cursor(COMPANY, "qbo_import.invoices") is not None


def test_new_records_wait_while_qbo_sync_has_unconfirmed_writes(pipelines: Pipelines) -> None:
    pipelines.store.add_intent(COMPANY, "unconfirmed-batch", "qbo_sync", {"entity": "Invoice"})

    job = pipelines.run_import()

    assert pipelines.invoiced_writes() == []
    assert job.counts_dict()["invoice"]["deferred"] == DEMO_OPEN_INVOICES
    assert pipelines.store.get_cursor(COMPANY, "qbo_import.customers") is None
    pipelines.store.drop_intent("unconfirmed-batch")
    pipelines.run_import()
    assert len(pipelines.invoiced("GET", "/invoices")) == DEMO_OPEN_INVOICES


def test_secrets_never_reach_the_logs(pipelines: Pipelines, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    customer = pipelines.invoiced("POST", "/customers", json={"name": "Clash"})
    pipelines.invoiced("POST", "/invoices", json={"customer": customer["id"], "number": "1001",
                                                 "items": [{"name": "x", "unit_cost": 1}]})

    with pytest.raises(importer.ImportFailed) as failure:
        pipelines.run_import()

    qbo_config = pipelines.boxes.qbo_config()
    token = TokenManager(pipelines.store, COMPANY, qbo_config).access_token().value
    secrets = [pipelines.boxes.invoiced_info["api_key"], qbo_config.client_secret, token]
    text = caplog.text + str(failure.value)
    assert "1001" in text
    assert not [secret for secret in secrets if secret in text]
