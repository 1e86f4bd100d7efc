"""The tie-out's comparison of one linked invoice: what QuickBooks must show for it, and
which explanation wins when it does not."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounting_sync.tie_out import compare
from accounting_sync.tie_out.compare import Amounts, Pair, TieOut, agrees, expected_in_qbo, explain

D = Decimal


@pytest.mark.parametrize(
    ("invoice", "expected"),
    [
        ({"total": 100, "balance": 40, "currency": "usd", "status": "sent"}, (D("100.00"), D("40.00"))),
        ({"total": 100, "balance": 100, "status": "voided"}, (D("0.00"), D("0.00"))),
        ({"total": 100, "balance": 100, "status": "bad_debt"}, (D("100.00"), D("0.00"))),
        ({"total": 100, "balance": 60, "closed": True, "paid": False}, (D("100.00"), D("0.00"))),
    ],
    ids=["open", "voided", "bad debt", "closed unpaid"],
)
def test_what_quickbooks_must_show(invoice: dict[str, object], expected: tuple[Decimal, Decimal]) -> None:
    amounts = expected_in_qbo(invoice)
    assert (amounts.total, amounts.open) == expected


def pair(**changes: object) -> Pair:
    base = {
        "invoiced_id": "1", "qbo_id": "9", "number": "INV-1", "mastered_by": "invoiced",
        "invoiced": Amounts(D("100.00"), D("40.00"), "USD"), "qbo": Amounts(D("100.00"), D("100.00"), "USD"),
    }
    return Pair(**{**base, **changes})  # type: ignore[arg-type]


def test_the_first_explanation_that_holds_wins() -> None:
    everything = pair(pending="failed: closed period", unknown_links=("QuickBooks transaction 5",), qbo_changed=True)
    assert explain(everything)[0] == compare.NOT_SYNCED
    assert explain(pair(unknown_links=("QuickBooks transaction 5",), qbo_changed=True))[0] == compare.BY_HAND
    assert explain(pair(missing_payments=("payment P-1",), qbo_changed=True))[0] == compare.UNAPPLIED
    assert explain(pair(qbo=None)) == (compare.CHANGED, "deleted in QuickBooks")
    assert explain(pair(qbo_changed=True))[0] == compare.CHANGED
    assert explain(pair(qbo=Amounts(D("100.00"), D("40.00"), "EUR")))[0] == compare.CURRENCY
    assert explain(pair())[0] == compare.UNEXPLAINED


def test_agreement_is_to_the_cent_and_in_one_currency() -> None:
    assert agrees(pair(qbo=Amounts(D("100.00"), D("40.00"), "USD")))
    assert not agrees(pair(qbo=Amounts(D("100.00"), D("40.01"), "USD")))
    assert not agrees(pair(qbo=Amounts(D("100.00"), D("40.00"), "CAD")))
    assert agrees(pair(qbo=Amounts(D("100.00"), D("40.00"), None)))  # QuickBooks did not say


def test_the_summary_says_in_money_whether_the_books_match() -> None:
    matching = TieOut(full=False, checked=2143, open_invoiced=D("1284300.17"), open_qbo=D("1284300.17"), qbo_reads=1)
    assert matching.summary() == (
        "Books match: 2,143 invoices, $1,284,300.17 open on both sides (incremental tie-out, 1 QuickBooks reads)"
    )
    differing = TieOut(full=True, checked=3, open_invoiced=D("50.00"), open_qbo=D("60.00"))
    differing.differences.append(compare.difference(pair()))
    assert differing.summary().startswith("Books differ on 1 of 3 invoices: $50.00 open on Invoiced, $60.00 in QuickBooks")
    assert "1 unexplained" in differing.summary()


def test_a_customer_balance_lists_only_what_its_invoice_lines_do_not() -> None:
    balance = compare.CustomerBalance("Acme", "7", invoiced_open=D("300.00"), qbo_balance=D("320.00"), linked=D("20.00"))
    assert balance.difference() is None  # the invoice line with the 20.00 is listed already

    balance.never_written, balance.qbo_balance = D("50.00"), D("370.00")
    diff = balance.difference()
    assert diff is not None and diff.explanation == compare.BY_HAND and "50.00" in diff.detail

    balance.qbo_balance = D("371.00")
    diff = balance.difference()
    assert diff is not None and diff.explanation == compare.UNEXPLAINED and "1.00" in diff.detail

    credit = compare.CustomerBalance("Globex", "8", invoiced_open=D("100.00"), qbo_balance=D("75.00"), credit=D("25.00"))
    assert credit.difference() is None  # unapplied credit on both sides
