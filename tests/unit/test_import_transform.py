"""qbo_import mapping and decisions, rule by rule (no I/O)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from accounting_sync.common.values import RecordRejected
from accounting_sync.config.settings import resolve_settings
from accounting_sync.qbo_import.plan import (
    currency_conflict,
    customer_changes,
    decide_credit_memo,
    decide_invoice,
    invoice_state,
    is_open,
    paid_in_quickbooks,
)
from accounting_sync.qbo_import.transform import (
    CREDIT_MEMO_KEY,
    METADATA_KEY,
    PAYMENT_KEY,
    VOIDED,
    application_body,
    contact_body,
    credit_applications,
    credit_note_body,
    customer_body,
    idempotency_key,
    invoice_body,
    new_customer_body,
    new_invoice_body,
    payment_body,
    recorded_from_quickbooks,
)
from accounting_sync.qbo_sync.transform import lines_frame, plan_credit_note, plan_invoice
from accounting_sync.store.idmap import ORIGIN_INVOICED, ORIGIN_QUICKBOOKS, MappedRecord


def qbo_customer(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Id": "58",
        "SyncToken": "3",
        "DisplayName": "Amy's Bird Sanctuary",
        "GivenName": "Amy",
        "FamilyName": "Lauterbach",
        "CompanyName": "Amy's Bird Sanctuary",
        "PrimaryEmailAddr": {"Address": "birds@intuit.example, accounts@intuit.example"},
        "PrimaryPhone": {"FreeFormNumber": "(650) 555-3311"},
        "BillAddr": {"Line1": "4581 Finch St.", "Line2": "Suite 2", "City": "Bayshore",
                     "CountrySubDivisionCode": "CA", "PostalCode": "94326", "Country": "USA"},
    }
    base.update(overrides)
    return base


def sales_line(name: str, qty: float, price: float, amount: float, description: str | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {"DetailType": "SalesItemLineDetail", "Amount": amount,
                            "SalesItemLineDetail": {"ItemRef": {"value": "1", "name": name}, "Qty": qty,
                                                    "UnitPrice": price}}
    if description:
        line["Description"] = description
    return line


def qbo_invoice(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Id": "130",
        "SyncToken": "0",
        "DocNumber": "1037",
        "TxnDate": "2026-03-02",
        "DueDate": "2026-04-01",
        "CurrencyRef": {"value": "USD"},
        "CustomerRef": {"value": "58"},
        "CustomerMemo": {"value": "Thank you"},
        "Line": [
            sales_line("Consulting", 4, 150, 600, "March hours"),
            sales_line("Widget", 3, 25, 75),
            {"DetailType": "SubTotalLineDetail", "Amount": 675, "SubTotalLineDetail": {}},
            {"DetailType": "DiscountLineDetail", "Amount": 67.5,
             "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 10}},
        ],
        "TxnTaxDetail": {"TotalTax": 5.57},
        "TotalAmt": 613.07,
        "Balance": 613.07,
        "LinkedTxn": [],
        "MetaData": {"CreateTime": "2026-03-02T09:00:00-08:00", "LastUpdatedTime": "2026-03-05T10:30:00-08:00"},
    }
    base.update(overrides)
    return base


def mapped(origin: str = ORIGIN_QUICKBOOKS, token: str | None = "0", state: str = "open:abc") -> MappedRecord:
    return MappedRecord("900", "130", token, state, origin)


def invoiced_total(body: dict[str, Any]) -> Decimal:
    """What Invoiced computes from the body: lines, minus flat discounts, plus flat taxes."""
    lines = sum(
        (Decimal(str(item["quantity"])) * Decimal(str(item["unit_cost"]))).quantize(Decimal("0.01"))
        for item in body["items"]
    )
    discounts = sum(Decimal(str(d["amount"])) for d in body["discounts"])
    taxes = sum(Decimal(str(t["amount"])) for t in body["taxes"])
    return Decimal(lines) - discounts + taxes


# -- rule 1: customers and contacts -----------------------------------------------------------


def test_customer_fields_come_from_quickbooks() -> None:
    body = customer_body(qbo_customer())

    assert body == {
        "name": "Amy's Bird Sanctuary",
        "type": "company",
        "email": "birds@intuit.example",
        "phone": "(650) 555-3311",
        "address1": "4581 Finch St.",
        "address2": "Suite 2",
        "city": "Bayshore",
        "state": "CA",
        "postal_code": "94326",
        "country": "US",
    }
    assert "currency" not in body  # QBO gave it no CurrencyRef


def test_a_person_without_company_is_a_person_and_empty_fields_are_left_out() -> None:
    body = customer_body(qbo_customer(CompanyName=None, PrimaryEmailAddr={"Address": "not an email"},
                                      PrimaryPhone=None, BillAddr={"Country": "Narnia"}))

    assert body == {"name": "Amy's Bird Sanctuary", "type": "person"}


def test_a_customer_without_a_name_is_refused_with_a_fix() -> None:
    with pytest.raises(RecordRejected) as rejected:
        customer_body(qbo_customer(DisplayName="  "))
    assert rejected.value.hint


@pytest.mark.parametrize("suffix", [" (deleted)", " (Deleted)", " (deleted-2)"])
def test_the_deleted_suffix_qbo_gives_inactive_customers_never_reaches_invoiced(suffix: str) -> None:
    """QBO renames a customer it makes inactive; the Invoiced customer keeps the real name."""
    record = qbo_customer(DisplayName=f"Thrifty Meats{suffix}", Active=False, GivenName=None, FamilyName=None)
    assert customer_body(record)["name"] == "Thrifty Meats"
    assert customer_body(qbo_customer(DisplayName="Odd (deleted)", Active=True))["name"] == "Odd (deleted)"


def test_a_new_customer_gets_a_number_traceable_to_quickbooks_and_the_imported_mark() -> None:
    record = qbo_customer()

    body = new_customer_body(record, customer_body(record))

    assert (body["number"], body["accounting_system"], body["accounting_id"]) == (
        "QBO-58", "quickbooks_online", "58"
    )


def test_the_primary_contact_is_the_person_with_the_email() -> None:
    assert contact_body(qbo_customer()) == {"name": "Amy Lauterbach", "email": "birds@intuit.example",
                                            "primary": True}
    assert contact_body(qbo_customer(GivenName=None, FamilyName=None))["name"] == "Amy's Bird Sanctuary"
    assert contact_body(qbo_customer(PrimaryEmailAddr=None)) is None


def test_only_fields_invoiced_does_not_have_are_written() -> None:
    body = customer_body(qbo_customer())
    current = {**body, "email": "old@example.com", "notes": "kept", "number": "CUST-00001"}

    assert customer_changes(body, current) == {"email": "birds@intuit.example"}
    assert customer_changes(body, {**body, "metadata": {}}) == {}


@pytest.mark.parametrize(("ref", "currency"), [({"value": "EUR", "name": "Euro"}, "eur"), ({"value": "USD"}, "usd"),
                                               (None, None), ({}, None)])
def test_a_customer_bills_in_the_currency_quickbooks_gives_it(ref: dict[str, str] | None,
                                                              currency: str | None) -> None:
    """Lower case, as Invoiced writes currencies; QBO gives even a single-currency company's
    customers a CurrencyRef (the home currency). Without one, Invoiced's default stays."""
    body = customer_body(qbo_customer(CurrencyRef=ref))

    assert body.get("currency") == currency
    assert new_customer_body(qbo_customer(CurrencyRef=ref), body).get("currency") == currency


def test_a_currency_the_invoiced_customer_already_bills_in_is_kept_and_named() -> None:
    body = customer_body(qbo_customer(CurrencyRef={"value": "EUR"}))

    assert customer_changes(body, {**body, "currency": None}) == {"currency": "eur"}  # set where it has none
    assert currency_conflict(body, {**body, "currency": None}) is None
    assert customer_changes(body, {**body, "currency": "usd", "phone": None}) == {"phone": "(650) 555-3311"}
    assert currency_conflict(body, {**body, "currency": "usd"}) == "usd"
    assert currency_conflict(body, body) is None
    assert currency_conflict(customer_body(qbo_customer()), {"currency": "usd"}) is None  # QBO has none


# -- rule 2: outstanding invoices -------------------------------------------------------------


def test_an_invoice_arrives_line_for_line_to_quickbooks_total() -> None:
    body = invoice_body(qbo_invoice(), "900")

    assert body["customer"] == 900
    assert body["number"] == "1037"
    assert datetime.fromtimestamp(body["date"], timezone.utc).date() == date(2026, 3, 2)
    assert datetime.fromtimestamp(body["due_date"], timezone.utc).date() == date(2026, 4, 1)
    assert body["items"] == [
        {"name": "Consulting", "description": "March hours", "quantity": 4, "unit_cost": 150},
        {"name": "Widget", "quantity": 3, "unit_cost": 25},
    ]
    assert (body["discounts"], body["taxes"]) == ([{"amount": 67.5}], [{"amount": 5.57}])
    assert body["calculate_taxes"] is False
    assert (body["currency"], body["notes"]) == ("usd", "Thank you")
    assert body["metadata"] == {METADATA_KEY: "130"}
    assert invoiced_total(body) == Decimal("613.07")


def test_a_price_invoiced_would_round_differently_becomes_one_unit_of_the_amount() -> None:
    record = qbo_invoice(Line=[sales_line("Hours", 1.5, 10.005, 15)], TxnTaxDetail=None, TotalAmt=15)

    [item] = invoice_body(record, "900")["items"]

    assert (item["quantity"], item["unit_cost"], item["description"]) == (1, 15, "1.5 x 10.005")


def test_description_lines_are_kept_and_a_missing_number_is_made_up() -> None:
    record = qbo_invoice(DocNumber=None, TxnTaxDetail=None, TotalAmt=10, Line=[
        sales_line("Fee", 1, 10, 10), {"DetailType": "DescriptionOnly", "Description": "Thanks!",
                                       "DescriptionLineDetail": {}},
    ])

    body = invoice_body(record, "900")

    assert body["number"] == "QBO-130"
    assert body["items"][1] == {"name": "", "description": "Thanks!", "quantity": 1, "unit_cost": 0}


def test_tax_already_in_the_lines_is_not_added_again() -> None:
    record = qbo_invoice(GlobalTaxCalculation="TaxInclusive", TotalAmt=607.5)

    assert invoice_body(record, "900")["taxes"] == []


def test_inclusive_tax_beside_net_lines_arrives_as_qbos_tax() -> None:
    """QBO stores a TaxInclusive line's net Amount: the tax then shows on Invoiced as in QBO."""
    record = qbo_invoice(GlobalTaxCalculation="TaxInclusive")

    assert invoice_body(record, "900")["taxes"] == [{"amount": 5.57}]


def test_an_invoice_whose_parts_do_not_add_up_is_refused_with_a_fix() -> None:
    with pytest.raises(RecordRejected) as rejected:
        invoice_body(qbo_invoice(TotalAmt=700), "900")
    assert (rejected.value.code, bool(rejected.value.hint)) == ("total_mismatch", True)


def test_an_imported_invoice_carries_the_mark_qbo_sync_respects() -> None:
    """qbo_sync's own planner must skip what this pipeline imported (rule 4)."""
    record = qbo_invoice()
    body = new_invoice_body(record, invoice_body(record, "900"))
    assert (body["accounting_system"], body["accounting_id"]) == ("quickbooks_online", "130")
    as_on_invoiced = {"id": 900, "customer": 900, "number": "1037", "draft": False, "status": "sent",
                      "date": body["date"], "items": body["items"], "total": 613.07, "metadata": body["metadata"]}
    settings = resolve_settings()

    plan = plan_invoice(as_on_invoiced, lines_frame([as_on_invoiced], settings), settings, None, None)

    assert plan.action == "skip"


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (qbo_invoice(), "create"),
        (qbo_invoice(Balance=0), "skip"),  # paid in full in QBO
        (qbo_invoice(TotalAmt=0, Balance=0), "skip"),  # voided before it was ever imported
        (None, "skip"),  # deleted before it was ever imported
    ],
)
def test_only_outstanding_invoices_are_imported(record: dict[str, Any] | None, expected: str) -> None:
    assert decide_invoice(record, None).action == expected


def test_invoices_dated_before_the_sync_start_date_stay_out() -> None:
    decision = decide_invoice(qbo_invoice(), None, start=date(2026, 4, 1))
    assert (decision.action, "2026-04-01" in (decision.reason or "")) == ("skip", True)


def test_a_partly_paid_invoice_records_the_paid_part_from_quickbooks() -> None:
    record = qbo_invoice(Balance=413.07, LinkedTxn=[{"TxnId": "77", "TxnType": "Payment"}])
    invoice = {"id": 900, "customer": 12, "currency": "usd", "balance": 613.07}

    amount = paid_in_quickbooks(record, invoice["balance"])
    body = payment_body(record, invoice, amount, ["77"], "qbo-import-key-1")

    assert amount == Decimal("200.00")
    assert body["applied_to"] == [{"type": "invoice", "invoice": 900, "amount": 200.0}]
    assert (body["customer"], body["amount"], body["currency"]) == (12, 200.0, "usd")
    assert (body["accounting_system"], body["accounting_id"]) == ("quickbooks_online", "77")
    assert body["metadata"] == {METADATA_KEY: "130", PAYMENT_KEY: "qbo-import-key-1"}
    assert body["source"] == "accounting_system"
    assert datetime.fromtimestamp(body["date"], timezone.utc).date() == date(2026, 3, 5)


# -- rule 3: keep in step ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "mapping", "retry", "expected"),
    [
        (qbo_invoice(SyncToken="0"), mapped(token="0"), False, "unchanged"),
        (qbo_invoice(SyncToken="0"), mapped(token="0"), True, "refresh"),  # failed last time
        (qbo_invoice(SyncToken="2"), mapped(token="0"), False, "refresh"),  # paid, credited or edited
        (qbo_invoice(SyncToken="2"), mapped(token=None), False, "refresh"),  # paid part not yet recorded
        (qbo_invoice(TotalAmt=0, Balance=0), mapped(), False, "void"),
        (None, mapped(), False, "void"),  # deleted in QBO
        (None, mapped(state=VOIDED), False, "unchanged"),
    ],
)
def test_imported_invoices_follow_quickbooks(
    record: dict[str, Any] | None, mapping: MappedRecord, retry: bool, expected: str
) -> None:
    assert decide_invoice(record, mapping, retry=retry).action == expected


@pytest.mark.parametrize(
    ("invoiced_balance", "qbo_balance", "expected"),
    [
        (613.07, 413.07, "200.00"),  # paid or credited in QBO
        (613.07, 0, "613.07"),  # paid in full there: closes it here
        (413.07, 413.07, "0"),  # already equal (e.g. the payment came from Invoiced)
        (0, 613.07, "0"),  # paid on Invoiced, qbo_sync has not written it yet: never pushed back
    ],
)
def test_the_invoiced_balance_is_only_ever_lowered_to_quickbooks(
    invoiced_balance: float, qbo_balance: float, expected: str
) -> None:
    assert paid_in_quickbooks(qbo_invoice(Balance=qbo_balance), invoiced_balance) == Decimal(expected)


def test_the_id_map_remembers_whether_quickbooks_still_has_a_balance() -> None:
    assert is_open(mapped(state=invoice_state(qbo_invoice(), "h")))
    assert not is_open(mapped(state=invoice_state(qbo_invoice(Balance=0), "h")))
    assert not is_open(mapped(state=VOIDED))


# -- rule 4: no ping-pong ---------------------------------------------------------------------


def test_invoices_qbo_sync_wrote_are_never_imported() -> None:
    decision = decide_invoice(qbo_invoice(), mapped(origin=ORIGIN_INVOICED))
    assert (decision.action, "qbo_sync" in (decision.reason or "")) == ("skip", True)


# -- reliability ------------------------------------------------------------------------------


def test_idempotency_keys_are_deterministic_short_and_specific() -> None:
    key = idempotency_key("default", "invoice.create", "130", "abc#0")

    assert key == idempotency_key("default", "invoice.create", "130", "abc#0")
    assert 6 <= len(key) <= 64
    others = {
        idempotency_key("acme", "invoice.create", "130", "abc#0"),
        idempotency_key("default", "customer.create", "130", "abc#0"),
        idempotency_key("default", "invoice.create", "131", "abc#0"),
        idempotency_key("default", "invoice.create", "130", "abd#0"),
        idempotency_key("default", "invoice.create", "130", "abc#1"),
    }
    assert key not in others and len(others) == 5


# -- credit memos made in QuickBooks ----------------------------------------------------------


def qbo_credit_memo(**overrides: Any) -> dict[str, Any]:
    base = {key: value for key, value in qbo_invoice(Id="77", DocNumber="CM-9").items() if key != "DueDate"}
    return {**base, "RemainingCredit": 613.07, **overrides}


def applying(payment_id: str, *lines: tuple[str, str, float]) -> dict[str, Any]:
    return {"Id": payment_id, "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": txn, "TxnType": kind}]}
                                       for kind, txn, amount in lines]}


def test_a_credit_memo_arrives_line_for_line_marked_as_imported() -> None:
    body = credit_note_body(qbo_credit_memo(), "900")

    assert invoiced_total(body) == Decimal("613.07")
    assert body["metadata"] == {CREDIT_MEMO_KEY: "77"} and "due_date" not in body
    with pytest.raises(RecordRejected, match="credit memo"):
        credit_note_body(qbo_credit_memo(Line=[]), "900")


def test_qbo_sync_never_writes_an_imported_credit_note_back() -> None:
    body = credit_note_body(qbo_credit_memo(), "900")
    as_on_invoiced = {"id": 901, "customer": 900, "number": "CM-9", "draft": False, "status": "open",
                      "date": body["date"], "items": body["items"], "total": 613.07, "metadata": body["metadata"]}
    settings = resolve_settings()

    plan = plan_credit_note(as_on_invoiced, lines_frame([as_on_invoiced], settings), settings, None, None)

    assert (plan.action, "imported from QuickBooks" in (plan.reason or "")) == ("skip", True)


def test_the_credit_applied_by_each_qbo_payment_goes_to_its_invoices_in_line_order() -> None:
    record = qbo_credit_memo(LinkedTxn=[{"TxnId": "50", "TxnType": "Payment"}, {"TxnId": "51", "TxnType": "Payment"}])
    payments = {
        "50": applying("50", ("Invoice", "130", 40.0), ("CreditMemo", "77", 40.0)),
        # cash and two credit memos over two invoices: ours (25) goes to the first invoice
        "51": applying("51", ("Invoice", "131", 20.0), ("Invoice", "132", 30.0), ("CreditMemo", "77", 25.0),
                       ("CreditMemo", "78", 10.0)),
    }

    assert credit_applications(record, payments) == {"130": Decimal("40"), "131": Decimal("20"),
                                                     "132": Decimal("5")}


def test_the_application_is_a_zero_payment_marked_as_from_quickbooks() -> None:
    record = qbo_credit_memo()
    body = application_body(record, {"id": 901, "customer": 900, "currency": "usd"}, "300", Decimal("40"), "k")

    assert body["amount"] == 0
    assert body["applied_to"] == [{"type": "credit_note", "credit_note": 901, "invoice": 300,
                                   "document_type": "invoice", "amount": 40.0}]
    assert recorded_from_quickbooks(body) and recorded_from_quickbooks({"metadata": body["metadata"]})


@pytest.mark.parametrize(
    ("record", "known", "expected"),
    [
        (qbo_credit_memo(), None, "create"),
        (qbo_credit_memo(TotalAmt=0, Balance=0), None, "skip"),  # voided before it was imported
        (qbo_credit_memo(), mapped(origin=ORIGIN_INVOICED), "skip"),  # a credit note qbo_sync wrote
        (qbo_credit_memo(SyncToken="1"), mapped(), "refresh"),  # applied, or edited, in QBO
        (qbo_credit_memo(), mapped(), "unchanged"),
        (None, mapped(), "void"),  # deleted in QBO
        (qbo_credit_memo(TotalAmt=0, Balance=0), mapped(), "void"),
        (None, mapped(state=VOIDED), "unchanged"),
    ],
)
def test_imported_credit_memos_follow_quickbooks(
    record: dict[str, Any] | None, known: MappedRecord | None, expected: str
) -> None:
    assert decide_credit_memo(record, known).action == expected
