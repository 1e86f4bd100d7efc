"""A payment received in QuickBooks, recorded on Invoiced by qbo_import, must never be
written back to QuickBooks by qbo_sync (and then imported again, forever).

Real Invoiced keeps its default ``source`` (``keyed``) on a payment that carries an
accounting mark; the sandbox's ``mark_sets_payment_source`` switch gives the other reading.
The product is tested under both, and with each of its own guards taken away in turn."""

from __future__ import annotations

from typing import Any

import pytest

from accounting_sync.qbo_import import load as importer
from accounting_sync.qbo_import import transform as import_transform
from accounting_sync.store.facade import StateStore
from accounting_sync.store.idmap import ORIGIN_QUICKBOOKS
from tests.e2e.import_harness import COMPANY, Pipelines

IMPORTED_PAID = ("1002", "1005", "1011")  # partly paid in the QBO demo company


# Every test under both readings of what a marked payment's source becomes.
pytestmark = pytest.mark.parametrize(
    "switched_boxes", [{"mark_sets_payment_source": False}, {"mark_sets_payment_source": True}],
    ids=["source-kept-keyed", "mark-implies-source"], indirect=True, scope="module",
)


def recorded_payments(pipes: Pipelines) -> list[dict[str, Any]]:
    return list(pipes.invoiced("GET", "/payments", params={"include": "applied_to"}))


def qbo_payment_writes(pipes: Pipelines) -> list[dict[str, Any]]:
    return [row for row in pipes.qbo_writes() if "payment" in row["path"] or row["path"].endswith("/batch")]


def assert_no_echo(pipes: Pipelines) -> None:
    """Sync and import twice more: QBO gets no payment, Invoiced no write, balances agree."""
    payments_before = len(pipes.boxes.qbo_rows("Payment"))
    pipes.boxes.reset_stats()
    for _ in range(2):
        pipes.run_sync()
        pipes.run_import()
    assert qbo_payment_writes(pipes) == []
    assert pipes.invoiced_writes() == []
    assert len(pipes.boxes.qbo_rows("Payment")) == payments_before
    for number in IMPORTED_PAID:
        assert pipes.invoiced_invoice(number)["balance"] == pipes.qbo_invoice(number)["Balance"], number


def test_payments_recorded_from_quickbooks_are_marked_mapped_and_never_written_back(pipes: Pipelines) -> None:
    pipes.run_import()
    pipes.qbo_pay(pipes.qbo_invoice("1012"), 50)
    pipes.run_import()

    payments = recorded_payments(pipes)
    assert len(payments) == 4
    assert {p["source"] for p in payments} == {"accounting_system"}  # sent explicitly, whatever the mark does
    mapped = pipes.store.get_mappings(COMPANY, "payment", [str(p["id"]) for p in payments])
    assert {m.origin for m in mapped.values()} == {ORIGIN_QUICKBOOKS} and len(mapped) == 4
    assert_no_echo(pipes)


@pytest.fixture
def source_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if Invoiced ignored the ``source`` the import sends: the payment stays ``keyed``."""
    original = import_transform.payment_body

    def keyed(*args: Any) -> dict[str, Any]:
        return {key: value for key, value in original(*args).items() if key != "source"}

    monkeypatch.setattr(importer, "payment_body", keyed)


def test_without_the_source_the_id_map_and_the_marker_still_stop_the_echo(
    pipes: Pipelines, source_ignored: None
) -> None:
    """A service that ignored the source we send would store ``keyed``: still no echo."""
    pipes.run_import()
    sources = {p["source"] for p in recorded_payments(pipes)}
    assert sources == ({"accounting_system"} if pipes.boxes.invoiced_info["config"]["mark_sets_payment_source"]
                       else {"keyed"})
    assert_no_echo(pipes)


def test_a_crash_before_the_payment_is_mapped_leaves_the_marker_to_stop_the_echo(
    pipes: Pipelines, source_ignored: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker dies between Invoiced's answer and the id-map row; the task is retried."""
    class WorkerKilled(BaseException):
        """What a SIGKILLed worker leaves: nothing after this point runs."""

    put_mappings = StateStore.put_mappings

    def dies_on_payments(self: StateStore, company: str, object_type: str, records: Any) -> None:
        if object_type == "payment":
            raise WorkerKilled()
        put_mappings(self, company, object_type, records)

    monkeypatch.setattr(StateStore, "put_mappings", dies_on_payments)
    with pytest.raises(WorkerKilled):
        pipes.run_import()
    monkeypatch.setattr(StateStore, "put_mappings", put_mappings)
    pipes.run_import()  # the retried task: finishes the other invoices, records nothing twice

    payments = recorded_payments(pipes)
    assert pipes.store.get_mappings(COMPANY, "payment", [str(payments[0]["id"])]) == {}
    assert len(payments) == len(IMPORTED_PAID)
    assert_no_echo(pipes)
