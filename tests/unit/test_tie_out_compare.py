"""The tie-out's comparison of one linked record: what QuickBooks must show for an
invoice or a payment, and which explanation wins when it does not."""

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


def test_the_summary_counts_payments_and_credit_memos() -> None:
    both = TieOut(full=True, checked=2143, payments=812, credit_memos=3, open_invoiced=D("5.00"), open_qbo=D("5.00"))
    assert both.summary().startswith("Books match: 2,143 invoices, 812 payments and 3 credit memos, $5.00 open")
    assert TieOut(full=True, checked=1, payments=2).summary().startswith("Books match: 1 invoices and 2 payments, $")
    assert TieOut(full=True, checked=1, credit_memos=2).summary().startswith("Books match: 1 invoices and 2 credit memos")


def test_a_tax_quickbooks_computed_explains_exactly_that_gap() -> None:
    ours = Amounts(D("108.00"), D("108.00"), "USD", tax=D("8.00"))
    theirs = Amounts(D("106.25"), D("106.25"), "USD", tax=D("6.25"))
    assert explain(pair(invoiced=ours, qbo=theirs)) == (compare.TAX, "QuickBooks computed tax 6.25, Invoiced 8.00")
    paid = Amounts(D("108.00"), D("0.00"), "USD", tax=D("8.00"))  # paid in full on Invoiced, more tax in QBO
    assert explain(pair(invoiced=paid, qbo=Amounts(D("109.00"), D("1.00"), "USD", tax=D("9.00"))))[0] == compare.TAX
    assert explain(pair(invoiced=ours, qbo=Amounts(D("106.00"), D("106.00"), "USD", tax=D("6.25"))))[0] == compare.UNEXPLAINED
    assert explain(pair(invoiced=ours, qbo=theirs, qbo_changed=True))[0] == compare.CHANGED  # edited there: not the engine
    assert explain(pair(invoiced=ours, qbo=theirs, mastered_by="quickbooks"))[0] == compare.UNEXPLAINED
    unknown = Amounts(D("108.00"), D("108.00"), "USD")  # the lines were not read
    assert explain(pair(invoiced=unknown, qbo=theirs))[0] == compare.UNEXPLAINED


SYNCED_INVOICES = {"11", "12"}
SYNCED_NOTES = {"7"}


def test_a_payment_as_qbo_sync_writes_it() -> None:
    payment = {"id": 5, "currency": "usd", "amount": 163.75, "applied_to": [
        {"type": "invoice", "invoice": 11, "amount": 100},
        {"type": "invoice", "invoice": 99, "amount": 20},  # an invoice the sync never wrote: left out
        {"type": "credit_note", "credit_note": 7, "invoice": 12, "document_type": "invoice", "amount": 30},
        {"type": "credit_note", "credit_note": 8, "invoice": 12, "document_type": "invoice", "amount": 5},  # a write-off's
        {"type": "convenience_fee", "amount": 3.75},
        {"type": "credit", "amount": 40},
    ]}
    expected = compare.payment_on_invoiced(payment, SYNCED_INVOICES, SYNCED_NOTES)
    assert (expected.total, expected.open, expected.currency) == (D("143.75"), D("40.00"), "USD")
    assert expected.applied == (("convenience fee 5", D("3.75")), ("credit note 7", D("30.00")),
                                ("invoice 11", D("100.00")), ("invoice 12", D("30.00")))
    voided = compare.payment_on_invoiced({**payment, "voided": True}, SYNCED_INVOICES, SYNCED_NOTES)
    assert (voided.total, voided.open, voided.applied) == (D("0.00"), D("0.00"), ())


def test_a_qbo_payment_named_back_through_the_id_map() -> None:
    row = {"Id": "40", "TotalAmt": 143.75, "CurrencyRef": {"value": "USD"}, "Line": [
        {"Amount": 100, "LinkedTxn": [{"TxnId": "111", "TxnType": "Invoice"}]},
        {"Amount": 30, "LinkedTxn": [{"TxnId": "112", "TxnType": "Invoice"}]},
        {"Amount": 30, "LinkedTxn": [{"TxnId": "70", "TxnType": "CreditMemo"}]},
        {"Amount": 3.75, "LinkedTxn": [{"TxnId": "113", "TxnType": "Invoice"}]},
    ]}
    labels = {("Invoice", "111"): "invoice 11", ("Invoice", "112"): "invoice 12", ("CreditMemo", "70"): "credit note 7",
              ("Invoice", "113"): "convenience fee 5"}
    payment = {"id": 5, "currency": "usd", "amount": 163.75, "applied_to": [
        {"type": "invoice", "invoice": 11, "amount": 100},
        {"type": "credit_note", "credit_note": 7, "invoice": 12, "document_type": "invoice", "amount": 30},
        {"type": "convenience_fee", "amount": 3.75}, {"type": "credit", "amount": 40}]}
    on_invoiced = compare.payment_on_invoiced(payment, SYNCED_INVOICES, SYNCED_NOTES)
    in_qbo = compare.payment_in_qbo(row, labels)
    assert in_qbo == on_invoiced and agrees(pair(invoiced=on_invoiced, qbo=in_qbo, object_type="payment"))

    by_hand = compare.payment_in_qbo({**row, "Line": [*row["Line"], {"Amount": 1, "LinkedTxn": [
        {"TxnId": "500", "TxnType": "Invoice"}]}], "TotalAmt": 143.75}, labels)
    assert ("QuickBooks Invoice 500", D("1.00")) in by_hand.applied and by_hand.open == D("39.00")
    diff = compare.difference(pair(invoiced=on_invoiced, qbo=by_hand, object_type="payment", number="payment P-5"))
    assert diff.qbo.startswith("amount 143.75, unapplied 39.00 USD: QuickBooks Invoice 500 1.00; convenience fee 5")
    assert (diff.object_type, diff.resync) == ("payment", False)


def test_an_imported_payment_against_what_its_qbo_payments_paid_on_its_invoice() -> None:
    recorded = compare.imported_on_invoiced({"id": 9, "currency": "usd", "amount": 80, "applied_to": [
        {"type": "invoice", "invoice": 11, "amount": 80}]})
    usd = {"CurrencyRef": {"value": "USD"}}
    rows = [{**usd, "Id": "41", "TotalAmt": 150, "Line": [{"Amount": 50, "LinkedTxn": [{"TxnId": "111", "TxnType": "Invoice"}]},
                                                  {"Amount": 100, "LinkedTxn": [{"TxnId": "112", "TxnType": "Invoice"}]}]},
            {**usd, "Id": "42", "TotalAmt": 30, "Line": [{"Amount": 30, "LinkedTxn": [{"TxnId": "111", "TxnType": "Invoice"}]}]}]
    labels = {("Invoice", "111"): "invoice 11", ("Invoice", "112"): "invoice 12"}
    assert compare.imported_in_qbo(rows, labels, recorded) == recorded  # 50 + 30 on invoice 11; invoice 12 apart
    edited = pair(invoiced=recorded, qbo=compare.imported_in_qbo(rows[:1], labels, recorded), mastered_by="quickbooks",
                  qbo_changed=True, object_type="payment")
    assert explain(edited) == (compare.CHANGED, "edited in QuickBooks after qbo_import recorded it on Invoiced")


def test_only_an_invoice_offers_re_sync() -> None:
    assert compare.difference(pair(qbo_changed=True)).resync
    assert not compare.difference(pair(qbo_changed=True, object_type="credit_note")).resync
