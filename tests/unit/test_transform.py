"""Invoiced -> QBO transformation rules, one by one (no I/O)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from accounting_sync.common.values import content_hash
from accounting_sync.config.settings import DepositRule, resolve_settings
from accounting_sync.qbo_import.transform import METADATA_KEY, recorded_from_quickbooks
from accounting_sync.qbo_sync.transform import (
    clean_name,
    display_names,
    group_lines,
    is_write_off,
    lines_frame,
    plan_bad_debt,
    plan_credit_note,
    plan_credit_refund,
    plan_fee,
    plan_invoice,
    plan_payment,
    plan_refund,
    qbo_line,
    short_doc_number,
)

SETTINGS = resolve_settings()
JAN_2026 = int(datetime(2026, 1, 15, 12, tzinfo=timezone.utc).timestamp())


def invoice(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 11,
        "customer": 7,
        "number": "INV-0011",
        "currency": "usd",
        "draft": False,
        "closed": False,
        "paid": False,
        "status": "sent",
        "date": JAN_2026,
        "due_date": JAN_2026 + 30 * 86400,
        "items": [{"name": "Consulting", "quantity": 2, "unit_cost": 50, "catalog_item": None, "taxable": True}],
        "discounts": [],
        "taxes": [],
        "total": 100,
        "balance": 100,
        "notes": None,
        "metadata": {},
    }
    base.update(overrides)
    return base


def plan(inv: dict[str, Any], mapped_hash: str | None = None, origin: str | None = None, settings: Any = SETTINGS):
    lines = group_lines(lines_frame([inv], settings)).get(str(inv["id"]), [])
    return plan_invoice(inv, lines, settings, mapped_hash, origin)


# -- names and numbers ----------------------------------------------------------------------


def test_names_lose_forbidden_characters_and_are_truncated() -> None:
    assert clean_name("Acme: West\tCoast\nDivision", 100) == "Acme- West Coast Division"
    assert len(clean_name("x" * 600, 100)) == 100


def test_long_doc_numbers_are_shortened_deterministically_and_distinctly() -> None:
    first = short_doc_number("INVOICE-2026-NORTHWEST-000123", 21)
    second = short_doc_number("INVOICE-2026-NORTHWEST-000124", 21)
    assert len(first) <= 21 and len(second) <= 21
    assert first != second and first == short_doc_number("INVOICE-2026-NORTHWEST-000123", 21)
    assert short_doc_number("INV-1", 21) == "INV-1"


def test_long_number_is_kept_in_private_note() -> None:
    planned = plan(invoice(number="INVOICE-2026-NORTHWEST-000123"))
    assert len(planned.payload["DocNumber"]) <= 21
    assert "INVOICE-2026-NORTHWEST-000123" in planned.payload["PrivateNote"]


def test_duplicate_names_disambiguate_by_number_by_default() -> None:
    customers = [{"id": 2, "name": "Acme", "number": "C-2"}, {"id": 1, "name": "acme", "number": "C-1"}]
    assert display_names(customers, {}, "disambiguate") == {"1": "acme", "2": "Acme (C-2)"}


def test_duplicate_names_merge_when_asked() -> None:
    customers = [{"id": 1, "name": "Acme", "number": "C-1"}, {"id": 2, "name": "Acme", "number": "C-2"}]
    assert display_names(customers, {}, "merge") == {"1": "Acme", "2": "Acme"}


def test_a_name_already_owned_by_a_synced_customer_is_not_reused() -> None:
    names = display_names([{"id": 9, "name": "Acme", "number": "C-9"}], {"acme": "1"}, "disambiguate")
    assert names == {"9": "Acme (C-9)"}


def test_disambiguated_names_stay_within_100_characters() -> None:
    long_name = "N" * 150
    names = display_names(
        [{"id": 1, "name": long_name, "number": "A"}, {"id": 2, "name": long_name, "number": "LONG-NUMBER-2"}],
        {},
        "disambiguate",
    )
    assert len(names["1"]) == 100 and len(names["2"]) == 100 and names["2"].endswith("(LONG-NUMBER-2)")


# -- lines ----------------------------------------------------------------------------------


def line(**values: Any) -> Any:
    inv = invoice(items=[{"name": "Widget", "quantity": 1, "unit_cost": 1, "taxable": True, **values}])
    return lines_frame([inv], SETTINGS).iloc[0]


@pytest.mark.parametrize(
    ("quantity", "unit_cost", "amount"),
    [(3, "0.3333", Decimal("1.00")), (2, "49.995", Decimal("99.99")), ("0.5", "0.01", Decimal("0.01")), (7, 19.99, Decimal("139.93"))],
)
def test_line_amount_always_equals_qty_times_price_to_the_cent(quantity: Any, unit_cost: Any, amount: Decimal) -> None:
    qbo, computed = qbo_line(line(quantity=quantity, unit_cost=unit_cost))
    detail = qbo["SalesItemLineDetail"]
    assert computed == amount and Decimal(str(qbo["Amount"])) == amount
    product = (Decimal(str(detail["Qty"])) * Decimal(str(detail["UnitPrice"]))).quantize(Decimal("0.01"))
    assert product == amount


def test_half_cent_products_become_one_times_amount_with_the_original_in_the_description() -> None:
    qbo, amount = qbo_line(line(quantity="0.5", unit_cost="0.01", description="Stamps"))
    assert qbo["SalesItemLineDetail"]["Qty"] == 1 and qbo["SalesItemLineDetail"]["UnitPrice"] == float(amount)
    assert qbo["Description"].startswith("0.5 x 0.01")


def test_descriptions_are_truncated_to_4000() -> None:
    qbo, _ = qbo_line(line(description="d" * 10_000))
    assert len(qbo["Description"]) == 4000


def test_blank_line_names_use_the_generic_item_and_catalog_items_their_sku() -> None:
    inv = invoice(
        items=[
            {"name": "", "quantity": 1, "unit_cost": 10},
            {"name": "Delivery", "quantity": 1, "unit_cost": 5, "catalog_item": "delivery"},
        ],
        total=15,
    )
    frame = lines_frame([inv], SETTINGS)
    assert list(frame["item_name"]) == ["Invoiced Item", "Delivery"]
    assert list(frame["item_key"]) == ["name:invoiced item", "sku:delivery"]


# -- invoices -------------------------------------------------------------------------------


def test_drafts_are_skipped() -> None:
    assert plan(invoice(draft=True, status="draft")).action == "skip"


def test_new_invoice_is_created_with_customer_items_dates_and_memo() -> None:
    planned = plan(invoice(notes="n" * 1500))
    assert planned.action == "create"
    payload = planned.payload
    assert payload["CustomerRef"] == {"$customer": "7"}
    assert payload["TxnDate"] == "2026-01-15" and payload["DueDate"] == "2026-02-14"
    assert len(payload["CustomerMemo"]["value"]) == 1000
    assert payload["Line"][0]["SalesItemLineDetail"]["ItemRef"] == {"$item": "name:consulting"}
    assert "Invoiced invoice 11" in payload["PrivateNote"]
    assert set(planned.depends_on) == {"customer:7", "item:name:consulting"}


def test_unchanged_and_changed_invoices() -> None:
    first = plan(invoice())
    assert plan(invoice(), mapped_hash=first.hash).action == "unchanged"
    changed = invoice(items=[{"name": "Consulting", "quantity": 3, "unit_cost": 50}], total=150)
    assert plan(changed, mapped_hash=first.hash).action == "update"


def test_discounts_become_one_discount_line_and_taxes_the_tax_detail() -> None:
    planned = plan(
        invoice(
            items=[
                {"name": "A", "quantity": 1, "unit_cost": 100, "discounts": [{"amount": 5}]},
                {"name": "B", "quantity": 1, "unit_cost": 50, "taxes": [{"amount": 2.5}]},
            ],
            discounts=[{"amount": 10}],
            taxes=[{"amount": 7.25}],
            total=144.75,
        )
    )
    lines = planned.payload["Line"]
    assert lines[-1]["DetailType"] == "DiscountLineDetail" and lines[-1]["Amount"] == 15
    assert lines[-1]["DiscountLineDetail"]["DiscountAccountRef"] == {"$account": "discount"}
    assert planned.payload["TxnTaxDetail"] == {"TxnTaxCodeRef": {"$taxcode": "default"}, "TotalTax": 9.75}


def test_inclusive_taxes_are_inside_the_total_and_recorded_for_the_load_step() -> None:
    gst = {"id": "gst", "name": "GST", "value": 10, "is_percent": True, "inclusive": True}
    planned = plan(invoice(items=[{"name": "A", "quantity": 1, "unit_cost": 110}], taxes=[{"amount": 10, "tax_rate": gst}],
                           total=110))
    assert planned.action == "create"
    assert planned.tax_plan is not None and planned.tax_plan["total"] == "110.00"
    assert planned.tax_plan["lines"][0]["rates"] == [{"id": "gst", "name": "GST", "percent": "10", "inclusive": True}]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"items": []}, "no line items"),
        ({"total": 99}, "add up to"),
        ({"items": [{"name": "A", "quantity": 1, "unit_cost": "abc"}]}, "not a number"),
        ({"items": [{"name": "A", "quantity": None, "unit_cost": 3}]}, "quantity is missing"),
        ({"total": None}, "not a number"),
        ({"customer": None}, "no customer"),
    ],
)
def test_broken_invoices_become_per_record_errors(overrides: dict[str, Any], reason: str) -> None:
    planned = plan(invoice(**overrides))
    assert planned.action == "error" and reason in (planned.reason or "")


def test_sync_start_date_excludes_older_invoices() -> None:
    settings = resolve_settings({"sync_start_date": "2026-02-01"})
    assert plan(invoice(), settings=settings).action == "skip"
    assert plan(invoice(date=JAN_2026 + 40 * 86400), settings=settings).action == "create"


def test_voids_only_reach_qbo_for_synced_invoices() -> None:
    assert plan(invoice(status="voided"), mapped_hash="h").action == "void"
    assert plan(invoice(status="voided")).action == "skip"


def test_imported_invoices_are_never_written_back() -> None:
    assert plan(invoice(), mapped_hash="h", origin="quickbooks").action == "skip"
    assert plan(invoice(metadata={"quickbooks_invoice_id": "55"})).action == "skip"


# -- bad debt -------------------------------------------------------------------------------


def test_bad_debt_is_a_credit_memo_for_the_written_off_amount() -> None:
    planned = plan_bad_debt(invoice(status="bad_debt", closed=True, balance=0, amount_written_off=60))
    assert planned is not None and planned.payload["Line"][0]["Amount"] == 60
    assert planned.payload["Line"][0]["SalesItemLineDetail"]["ItemRef"] == {"$item": "setup:bad_debt"}


def test_closed_unpaid_invoice_is_bad_debt_for_its_balance() -> None:
    planned = plan_bad_debt(invoice(closed=True, balance=40))
    assert planned is not None and planned.payload["Line"][0]["Amount"] == 40


def test_paid_and_open_invoices_are_not_bad_debt() -> None:
    assert plan_bad_debt(invoice(closed=True, paid=True, status="paid", balance=0)) is None
    assert plan_bad_debt(invoice()) is None


# -- payments -------------------------------------------------------------------------------


def payment(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 31,
        "customer": 7,
        "date": JAN_2026,
        "currency": "usd",
        "amount": 100,
        "method": "check",
        "reference": "CHK-1001",
        "source": "keyed",
        "voided": False,
        "applied_to": [{"type": "invoice", "invoice": 11, "amount": 100}],
    }
    base.update(overrides)
    return base


def test_payment_links_its_invoices_with_method_reference_and_deposit_account() -> None:
    planned = plan_payment(payment(), {"11": invoice()}, SETTINGS, None)
    assert planned.action == "create"
    payload = planned.payload
    assert payload["Line"] == [{"Amount": 100.0, "LinkedTxn": [{"TxnId": {"$invoice": "11"}, "TxnType": "Invoice"}]}]
    assert payload["PaymentRefNum"] == "CHK-1001" and "check" in payload["PrivateNote"]
    assert payload["DepositToAccountRef"] == {"$deposit": "Undeposited Funds"}
    assert "invoice:11" in planned.depends_on


def test_unapplied_credit_is_part_of_the_total() -> None:
    planned = plan_payment(
        payment(amount=120, applied_to=[{"type": "invoice", "invoice": 11, "amount": 100}, {"type": "credit", "amount": 20}]),
        {"11": invoice()},
        SETTINGS,
        None,
    )
    assert planned.payload["TotalAmt"] == 120


def test_payments_from_the_accounting_system_and_credit_note_applications_are_not_written() -> None:
    assert plan_payment(payment(), {"11": invoice()}, SETTINGS, None, from_quickbooks=True).action == "skip"
    credit_only = payment(amount=0, applied_to=[{"type": "credit_note", "credit_note": 3, "invoice": 11, "amount": 50}])
    assert plan_payment(credit_only, {}, SETTINGS, None).action == "skip"


def test_voided_payment_is_voided_when_synced() -> None:
    assert plan_payment(payment(voided=True), {}, SETTINGS, "h").action == "void"


def test_payment_on_invoice_before_start_date_is_not_synced() -> None:
    settings = resolve_settings({"sync_start_date": "2026-02-01"})
    assert plan_payment(payment(), {"11": invoice()}, settings, None).action == "skip"


def test_deposit_rules_pick_the_most_specific_match() -> None:
    settings = resolve_settings(
        {
            "deposit_rules": [
                DepositRule(method="*", currency="usd", account="Operating").model_dump(),
                DepositRule(method="check", currency="usd", account="Lockbox").model_dump(),
            ]
        }
    )
    assert settings.deposit_account_for("check", "usd") == "Lockbox"
    assert settings.deposit_account_for("ach", "usd") == "Operating"
    assert settings.deposit_account_for("ach", "eur") == "Undeposited Funds"


def test_hash_is_stable() -> None:
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})


@pytest.mark.parametrize(("fields", "expected"), [
    ({"source": "keyed", "metadata": {METADATA_KEY: "145"}}, True),  # our marker; Invoiced kept its default source
    ({"source": "accounting_system", "metadata": {}}, True),  # Invoiced's own integration
    ({"source": "keyed", "metadata": None}, False),
    ({"source": "api"}, False),
])
def test_a_payment_recorded_from_quickbooks_is_known_by_its_marker_not_by_source_alone(
    fields: dict[str, Any], expected: bool
) -> None:
    assert recorded_from_quickbooks(payment(**fields)) is expected


def test_a_convenience_fee_becomes_an_invoice_of_its_own_that_the_payment_pays() -> None:
    paid = payment(amount=103, applied_to=[{"type": "invoice", "invoice": 11, "amount": 100},
                                           {"type": "convenience_fee", "amount": 3}])
    planned = plan_payment(paid, {"11": invoice()}, SETTINGS, None)
    assert planned.action == "create"
    assert planned.payload["TotalAmt"] == 103  # what the bank received, not only what paid the invoice
    assert [(line["Amount"], line["LinkedTxn"][0]["TxnId"]) for line in planned.payload["Line"]] == [
        (100.0, {"$invoice": "11"}), (3.0, {"$fee": "31"})]
    assert "fee:31" in planned.depends_on
    fee = plan_fee(paid, planned, None)
    assert fee is not None and (fee.kind, fee.source_id, fee.action) == ("fee", "31", "create")
    (line,) = fee.payload["Line"]
    assert line["Amount"] == 3.0 and line["SalesItemLineDetail"]["ItemRef"] == {"$item": "setup:convenience_fee"}
    assert fee.payload["CustomerRef"] == {"$customer": "7"} and fee.payload["DocNumber"] == "FEE-CHK-1001"
    assert "item:setup:convenience_fee" in fee.depends_on
    assert plan_fee(paid, planned, fee.hash).action == "unchanged"


def test_a_payment_without_a_fee_has_no_fee_invoice_and_a_voided_one_voids_it() -> None:
    plain = payment()
    assert plan_fee(plain, plan_payment(plain, {"11": invoice()}, SETTINGS, None), None) is None
    voided = payment(voided=True, applied_to=[{"type": "convenience_fee", "amount": 3}])
    paid = plan_payment(voided, {}, SETTINGS, "h")
    assert paid.action == "void"
    assert plan_fee(voided, paid, "h").action == "void"
    assert plan_fee(voided, paid, None) is None


def test_a_credit_note_becomes_a_credit_memo_line_for_line() -> None:
    note = invoice(id=51, number="CN-0051", items=[
        {"name": "Returned widget", "quantity": 2, "unit_cost": 25, "taxable": True, "discounts": [{"amount": 5}]},
    ], total=45)
    lines = group_lines(lines_frame([note], SETTINGS)).get("51", [])
    planned = plan_credit_note(note, lines, SETTINGS, None, None)
    assert (planned.kind, planned.action, planned.document_number) == ("credit_note", "create", "CN-0051")
    assert [line["DetailType"] for line in planned.payload["Line"]] == ["SalesItemLineDetail", "DiscountLineDetail"]
    assert planned.payload["DocNumber"] == "CN-0051"
    assert planned.payload["PrivateNote"] == "Invoiced credit note 51"
    assert plan_credit_note(note, lines, SETTINGS, planned.hash, None).action == "unchanged"
    assert plan_credit_note({**note, "draft": True}, lines, SETTINGS, None, None).reason == "draft"
    assert plan_credit_note({**note, "status": "voided"}, lines, SETTINGS, planned.hash, None).action == "void"
    broken = plan_credit_note({**note, "total": 50}, lines, SETTINGS, None, None)
    assert broken.action == "error" and "credit note total" in (broken.reason or "")


def test_the_credit_note_of_a_write_off_is_not_a_credit_memo() -> None:
    write_off = invoice(id=52, items=[{"name": "Bad Debt", "catalog_item": "bad_debt", "quantity": 1, "unit_cost": 40}],
                        total=40)
    assert is_write_off(write_off) and not is_write_off(invoice())
    planned = plan_credit_note(write_off, [], SETTINGS, None, None)
    assert planned.action == "skip" and "write-off" in (planned.reason or "")


def test_a_credit_note_applied_to_an_invoice_is_a_zero_payment_linking_both() -> None:
    applied = payment(amount=0, applied_to=[
        {"type": "credit_note", "credit_note": 51, "invoice": 11, "document_type": "invoice", "amount": 30}])
    planned = plan_payment(applied, {"11": invoice()}, SETTINGS, None)
    assert planned.action == "create" and planned.payload["TotalAmt"] == 0
    assert [(line["Amount"], line["LinkedTxn"]) for line in planned.payload["Line"]] == [
        (30.0, [{"TxnId": {"$invoice": "11"}, "TxnType": "Invoice"}]),
        (30.0, [{"TxnId": {"$credit_note": "51"}, "TxnType": "CreditMemo"}]),
    ]
    assert planned.depends_on == ["customer:7", "invoice:11", "credit_note:51"]


def test_credit_applications_that_are_write_offs_or_customer_credit_write_nothing() -> None:
    write_off = payment(amount=0, applied_to=[
        {"type": "credit_note", "credit_note": 52, "invoice": 11, "document_type": "invoice", "amount": 40}])
    planned = plan_payment(write_off, {"11": invoice()}, SETTINGS, None, write_offs=frozenset({"52"}))
    assert planned.action == "skip"
    to_balance = payment(amount=0, applied_to=[{"type": "credit_note", "credit_note": 51, "amount": 30}])
    assert plan_payment(to_balance, {}, SETTINGS, None).action == "skip"


def test_cash_and_credit_in_one_payment_pay_the_invoice_together() -> None:
    mixed = payment(amount=70, applied_to=[
        {"type": "invoice", "invoice": 11, "amount": 70},
        {"type": "credit_note", "credit_note": 51, "invoice": 11, "document_type": "invoice", "amount": 30}])
    payload = plan_payment(mixed, {"11": invoice()}, SETTINGS, None).payload
    assert payload["TotalAmt"] == 70
    invoiced = sum(line["Amount"] for line in payload["Line"] if line["LinkedTxn"][0]["TxnType"] == "Invoice")
    credited = sum(line["Amount"] for line in payload["Line"] if line["LinkedTxn"][0]["TxnType"] == "CreditMemo")
    assert (invoiced, credited) == (100.0, 30.0)


def refund(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": 81, "object": "transaction", "type": "refund", "customer": 7, "date": JAN_2026,
                            "currency": "usd", "amount": 40.25, "method": "check", "status": "succeeded",
                            "payment": 31, "parent_transaction": 301, "credit_note": None}
    base.update(overrides)
    return base


def test_a_refund_of_a_payment_is_a_refund_receipt_from_the_deposit_account() -> None:
    planned = plan_refund(refund(), SETTINGS, None)
    assert (planned.kind, planned.action) == ("refund", "create")
    payload = planned.payload
    assert payload["DepositToAccountRef"] == {"$deposit": "Undeposited Funds"}
    (line,) = payload["Line"]
    assert line["Amount"] == 40.25 and line["SalesItemLineDetail"]["ItemRef"] == {"$item": "setup:refund"}
    assert payload["PrivateNote"] == "Invoiced refund 81 of payment 31 (check)"
    assert planned.depends_on == ["customer:7", "item:setup:refund"]
    assert plan_refund(refund(), SETTINGS, planned.hash).action == "unchanged"


def test_refunds_that_are_not_written() -> None:
    assert plan_refund(refund(status="failed"), SETTINGS, None).action == "skip"
    off = resolve_settings({"write_payments": False})
    assert plan_refund(refund(), off, None).action == "skip"
    assert plan_refund(refund(customer=None), SETTINGS, None).action == "error"
    later = resolve_settings({"sync_start_date": "2026-02-01"})
    assert plan_refund(refund(), later, None).reason == "dated before the sync start date 2026-02-01"
    assert plan_credit_refund(refund(), plan_refund(refund(), SETTINGS, None), {}) == []


def test_a_refund_of_a_credit_note_pays_cash_out_and_spends_the_credit_memo() -> None:
    of_note = refund(credit_note=51, payment=None, parent_transaction=None)
    receipt = plan_refund(of_note, SETTINGS, None)
    assert receipt.action == "create" and receipt.payload["PrivateNote"] == "Invoiced refund 81 of credit note 51 (check)"
    carried, applied = plan_credit_refund(of_note, receipt, {})
    assert (carried.kind, carried.action, carried.payload["DocNumber"]) == ("refund_invoice", "create", "REFUND-81")
    (line,) = carried.payload["Line"]
    assert line["Amount"] == 40.25 and line["SalesItemLineDetail"]["ItemRef"] == {"$item": "setup:refund"}
    assert (applied.kind, applied.payload["TotalAmt"]) == ("refund_payment", 0)
    assert [(line["Amount"], line["LinkedTxn"][0]) for line in applied.payload["Line"]] == [
        (40.25, {"TxnId": {"$refund_invoice": "81"}, "TxnType": "Invoice"}),
        (40.25, {"TxnId": {"$credit_note": "51"}, "TxnType": "CreditMemo"}),
    ]
    assert applied.depends_on == ["customer:7", "credit_note:51", "refund_invoice:81"]
    again = plan_credit_refund(of_note, receipt, {"refund_invoice": carried.hash, "refund_payment": applied.hash})
    assert [p.action for p in again] == ["unchanged", "unchanged"]
    skipped = plan_refund(of_note, resolve_settings({"write_payments": False}), None)
    assert plan_credit_refund(of_note, skipped, {}) == []


# -- optional QBO fields from Invoiced metadata -----------------------------------------------


def test_class_location_terms_and_custom_fields_come_from_the_metadata_keys_in_the_settings() -> None:
    settings = resolve_settings({"custom_fields": [{"metadata_key": "crew", "qbo_name": "Crew #"},
                                                   {"metadata_key": "po", "qbo_name": "PO", "definition_id": "3"}]})
    metadata = {"qbo_class": "Retail", "qbo_location": " Downtown ", "qbo_terms": "Net 15", "crew": "x" * 40,
                "po": "PO-7"}

    payload = plan(invoice(metadata=metadata), settings=settings).payload

    assert (payload["ClassRef"], payload["DepartmentRef"], payload["SalesTermRef"]) == (
        {"$class": "Retail"}, {"$department": "Downtown"}, {"$term": "Net 15"})
    assert [(f["DefinitionId"], f["Name"], len(f["StringValue"])) for f in payload["CustomField"]] == [
        ("1", "Crew #", 31), ("3", "PO", 4)]


def test_without_metadata_or_with_a_key_turned_off_nothing_is_added() -> None:
    off = resolve_settings({"class_metadata_key": ""})

    assert not {"ClassRef", "DepartmentRef", "SalesTermRef", "CustomField"} & plan(invoice()).payload.keys()
    assert "ClassRef" not in plan(invoice(metadata={"qbo_class": "Retail"}), settings=off).payload


def test_a_credit_memo_takes_class_and_location_but_no_terms() -> None:
    note = invoice(metadata={"qbo_class": "Retail", "qbo_terms": "Net 15"}, due_date=None)
    lines = group_lines(lines_frame([note], SETTINGS)).get("11", [])

    payload = plan_credit_note(note, lines, SETTINGS, None, None).payload

    assert payload["ClassRef"] == {"$class": "Retail"} and "SalesTermRef" not in payload
