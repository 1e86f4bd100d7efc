"""The per-minute MarkInvoicesPastDue job: the status is stored and the job saves it.

BE ``config/packages/cron.yaml`` (MarkInvoicesPastDue), ``ReceivableDocument::updateStatus``,
``AutoTimestamps.php``: an open invoice whose due date has passed is saved by the next run
(every minute), so its ``status`` becomes ``past_due`` and its ``updated_at`` moves.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from sandbox.invoiced.state import SandboxState
from tests.integration.sandbox.invoiced.invoiced_client import InvoicedClient

START = 1_700_000_000
DUE = 1_700_002_800  # a minute boundary: the job that sees it past due runs at DUE + 60
DAY = 86400


def boundary_after(timestamp: int) -> int:
    return (timestamp // 60 + 1) * 60


@pytest.fixture
def at_start(inv: InvoicedClient) -> InvoicedClient:
    inv.control("clock", {"now": START})
    return inv


def ids(records: list[dict[str, Any]]) -> list[int]:
    return [record["id"] for record in records]


@pytest.mark.parametrize("job", [True, False])
def test_the_job_saves_an_invoice_when_it_becomes_past_due(
    at_start: InvoicedClient, sandbox_state: SandboxState, make_invoice: Any, job: bool
) -> None:
    inv = at_start
    sandbox_state.config.past_due_job = job
    invoice = make_invoice(sent=True, due_date=DUE)
    assert invoice["status"] == "sent"
    changed = {"updated_after": invoice["updated_at"]}
    inv.control("clock", {"now": DUE + 1})
    seen = inv.get(f"/invoices/{invoice['id']}").json()
    if job:
        assert seen["status"] == "sent"  # due, but the job has not run yet (it may lag a minute)
        assert inv.get("/invoices", params={"filter[status]": "past_due"}).json() == []
    else:
        assert seen["status"] == "past_due"  # worked out at the read
    inv.control("clock", {"now": DUE + 75})
    seen = inv.get(f"/invoices/{invoice['id']}").json()
    assert seen["status"] == "past_due"
    assert ids(inv.get("/invoices", params={"filter[status]": "past_due"}).json()) == [invoice["id"]]
    if job:
        assert seen["updated_at"] == DUE + 60  # the job's run, not the read
        assert ids(inv.get("/invoices", params=changed).json()) == [invoice["id"]]
    else:
        assert seen["updated_at"] == invoice["updated_at"]
        assert inv.get("/invoices", params=changed).json() == []


def test_every_boundary_passed_runs_once_per_invoice(
    at_start: InvoicedClient, make_invoice: Any, pay: Any, customer: dict[str, Any]
) -> None:
    inv = at_start
    open_dues = [START + 125, START + 3_601, START + 2 * DAY]
    opened = [make_invoice(due_date=due, **({"sent": True} if n else {})) for n, due in enumerate(open_dues)]
    draft = make_invoice(draft=True, due_date=START + 10)
    paid = make_invoice(due_date=START + 10)
    pay({paid["id"]: 100})
    voided = make_invoice(due_date=START + 10)
    inv.post(f"/invoices/{voided['id']}/void")
    before = {i["id"]: i for i in inv.get("/invoices").json()}
    inv.control("clock", {"now": START + DAY})
    after = {i["id"]: i for i in inv.get("/invoices").json()}
    for invoice, due in zip(opened[:2], open_dues[:2], strict=True):
        assert (after[invoice["id"]]["status"], after[invoice["id"]]["updated_at"]) == (
            "past_due", boundary_after(due)
        )
    assert after[opened[2]["id"]]["status"] in ("not_sent", "sent")
    for untouched in (draft, paid, voided):
        assert after[untouched["id"]] == before[untouched["id"]]
    again = {i["id"]: i for i in inv.get("/invoices").json()}
    assert again == after  # a later read does not run the job again


def test_a_save_after_the_due_date_works_the_status_out_itself(
    at_start: InvoicedClient, make_invoice: Any
) -> None:
    inv = at_start
    invoice = make_invoice(sent=True, due_date=DUE)
    inv.control("clock", {"now": DUE + 20})
    edited = inv.patch(f"/invoices/{invoice['id']}", json={"notes": "chased"}).json()
    assert edited["status"] == "past_due"
    inv.control("clock", {"now": DUE + 200})
    assert inv.get(f"/invoices/{invoice['id']}").json()["updated_at"] == edited["updated_at"]


def test_moving_the_due_date_reschedules_the_job(at_start: InvoicedClient, make_invoice: Any) -> None:
    inv = at_start
    invoice = make_invoice(sent=True, due_date=DUE)
    inv.patch(f"/invoices/{invoice['id']}", json={"due_date": DUE + DAY})
    inv.control("clock", {"now": DUE + 3600})
    assert inv.get(f"/invoices/{invoice['id']}").json()["status"] == "sent"
    inv.control("clock", {"now": DUE + DAY + 61})
    seen = inv.get(f"/invoices/{invoice['id']}").json()
    assert (seen["status"], seen["updated_at"]) == ("past_due", DUE + DAY + 60)


def test_the_job_is_cheap_on_a_large_account(at_start: InvoicedClient) -> None:
    inv = at_start
    (customer,) = inv.control("bulk", {"customers": [{"name": "Scale"}]})["customers"]
    count = 50_000
    invoices = [
        {"customer": customer, "sent": True, "due_date": START + 600 + n, "items": [{"unit_cost": 1}]}
        for n in range(count)
    ]
    inv.control("bulk", {"invoices": invoices})
    started = time.monotonic()
    assert inv.get("/invoices", params={"per_page": 1}).status_code == 200
    assert time.monotonic() - started < 1.0  # nothing due yet: no scan of the account
    inv.control("clock", {"now": START + 600 + count // 2})
    started = time.monotonic()
    response = inv.get("/invoices", params={"filter[status]": "past_due", "per_page": 1})
    assert time.monotonic() - started < 5.0
    # the clock sits on a minute boundary: every invoice due before it has been marked
    assert int(response.headers["X-Total-Count"]) == count // 2
