"""Each QBO validation rule with the fault code and text clients key on."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests
from qbo_support import (
    Json,
    Qbo,
    ServerFactory,
    customer,
    fault,
    invoice,
    invoice_body,
    item,
    payment,
    sales_line,
)

DUPLICATE_DETAIL = (
    "The name supplied already exists. : Another customer, vendor or employee is already using this \n"
    "name. Please use a different name."
)
PERIOD_CLOSED = (
    "The account period has closed and the account books cannot be updated through through the QBO "
    "Services API. Please use the QBO website to make these changes."
)


def test_display_name_unique_across_customer_vendor_employee(qbo: Qbo) -> None:
    qbo.create("Vendor", {"DisplayName": "Northwind Supplies"})
    error = fault(qbo.post("customer", {"DisplayName": "Northwind Supplies"}))
    assert error["code"] == "6240"
    assert error["Message"] == "Duplicate Name Exists Error"
    assert error["Detail"] == DUPLICATE_DETAIL
    assert fault(qbo.post("employee", {"DisplayName": "northwind supplies "}))["code"] == "6240"


def _deactivate(qbo: Qbo, entity: str, row: Json) -> Json:
    return qbo.create(entity, {"Id": row["Id"], "SyncToken": row["SyncToken"], "sparse": True, "Active": False})


@pytest.mark.parametrize("entity", ["Customer", "Vendor", "Employee"])
def test_making_a_name_inactive_renames_it_and_frees_the_plain_name(qbo: Qbo, entity: str) -> None:
    """Recorded QBO answer to a deactivation: DisplayName "Thrifty Meats (deleted)", Active false."""
    created = qbo.create(entity, {"DisplayName": "Thrifty Meats"})
    gone = _deactivate(qbo, entity, created)
    assert gone["DisplayName"] == "Thrifty Meats (deleted)" and gone["Active"] is False
    if entity == "Customer":
        assert gone["FullyQualifiedName"] == "Thrifty Meats (deleted)"
    fresh = qbo.create("Customer", {"DisplayName": "Thrifty Meats"})
    assert fault(qbo.post("customer", {"DisplayName": "Thrifty Meats (deleted)"}))["code"] == "6240"
    second = _deactivate(qbo, "Customer", fresh)
    assert second["DisplayName"] == "Thrifty Meats (deleted-2)"
    found = qbo.query("SELECT * FROM Customer WHERE DisplayName = 'Thrifty Meats'")
    assert found == {}


def test_reactivating_gives_the_plain_name_back_or_6240(qbo: Qbo) -> None:
    gone = _deactivate(qbo, "Customer", customer(qbo, "Sleepy Co"))
    back = qbo.create("Customer", {"Id": gone["Id"], "SyncToken": gone["SyncToken"], "sparse": True, "Active": True})
    assert back["DisplayName"] == "Sleepy Co" and back["Active"] is True
    gone = _deactivate(qbo, "Customer", back)
    customer(qbo, "Sleepy Co")
    refused = qbo.post("customer", {"Id": gone["Id"], "SyncToken": gone["SyncToken"], "sparse": True, "Active": True})
    assert fault(refused)["code"] == "6240"


def test_inactive_items_are_renamed_too(qbo: Qbo) -> None:
    """Unconfirmed for items (the fixtures show customers, vendors, employees, classes...)."""
    made = item(qbo, "Consulting")
    assert _deactivate(qbo, "Item", made)["Name"] == "Consulting (deleted)"
    assert item(qbo, "Consulting")["Id"] != made["Id"]


def test_without_the_rename_inactive_names_still_count(start_server: ServerFactory,
                                                       connect: Callable[..., Qbo]) -> None:
    qbo = connect(*start_server(inactive_name_suffix=None))
    created = customer(qbo, "Sleepy Co")
    assert _deactivate(qbo, "Customer", created)["DisplayName"] == "Sleepy Co"
    assert fault(qbo.post("customer", {"DisplayName": "Sleepy Co"}))["code"] == "6240"


def test_renaming_onto_an_existing_name_is_6240(qbo: Qbo) -> None:
    customer(qbo, "First")
    second = customer(qbo, "Second")
    body = {"Id": second["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "First"}
    assert fault(qbo.post("customer", body))["code"] == "6240"


@pytest.mark.parametrize("name", ["Parent:Child", "Tab\tName", "New\nLine"])
def test_display_name_rejects_separators(qbo: Qbo, name: str) -> None:
    error = fault(qbo.post("customer", {"DisplayName": name}))
    assert error["code"] == "2040"


def test_customer_without_any_name_is_6080(qbo: Qbo) -> None:
    assert fault(qbo.post("customer", {"CompanyName": "No Display"}))["code"] == "6080"
    built = qbo.create("Customer", {"GivenName": "Grace", "FamilyName": "Hopper"})
    assert built["DisplayName"] == "Grace Hopper"


@pytest.mark.parametrize(("field", "limit"), [("DisplayName", 500), ("CompanyName", 100), ("GivenName", 100),
                                              ("FamilyName", 100)])
def test_customer_length_limits(qbo: Qbo, field: str, limit: int) -> None:
    body = {"DisplayName": "Long Names Inc", field: "x" * (limit + 1)}
    error = fault(qbo.post("customer", body))
    assert error["code"] == "2050"
    assert error["Detail"].endswith(f"Min:0 Max:{limit} supported. Supplied length:{limit + 1}")
    assert qbo.post("customer", {**body, field: "y" * limit}).status_code == 200


def test_item_name_and_sku_limits_and_uniqueness(qbo: Qbo) -> None:
    assert fault(qbo.post("item", {"Name": "n" * 101, "Type": "Service"}))["code"] == "2050"
    income = {"value": qbo.query("SELECT * FROM Account WHERE AccountType = 'Income'")["Account"][0]["Id"]}
    assert fault(qbo.post("item", {"Name": "Widget", "Type": "Service", "Sku": "s" * 101,
                                   "IncomeAccountRef": income}))["code"] == "2050"
    item(qbo, "Widget", Sku="W-1")
    assert fault(qbo.post("item", {"Name": "widget", "Type": "Service", "IncomeAccountRef": income}))["code"] == "6240"


def test_item_requires_type_and_income_account(qbo: Qbo) -> None:
    assert fault(qbo.post("item", {"Name": "No Type"}))["code"] == "2020"
    assert fault(qbo.post("item", {"Name": "Odd", "Type": "Gizmo"}))["code"] == "2170"
    error = fault(qbo.post("item", {"Name": "No Account", "Type": "Service"}))
    assert error["code"] == "2020" and error["Detail"] == "Required parameter IncomeAccountRef is missing in the request"
    bad_ref = {"Name": "Bad Ref", "Type": "Service", "IncomeAccountRef": {"value": "999"}}
    assert fault(qbo.post("item", bad_ref))["Detail"] == "Invalid Reference Id : Accounts element id 999 not found"


def test_text_limits_on_transactions(qbo: Qbo) -> None:
    acme, consulting = customer(qbo)["Id"], item(qbo)["Id"]
    long_line = invoice_body(acme, consulting)
    long_line["Line"][0]["Description"] = "d" * 4001
    assert fault(qbo.post("invoice", long_line))["code"] == "2050"
    assert fault(qbo.post("invoice", invoice_body(acme, consulting, PrivateNote="p" * 4001)))["code"] == "2050"
    memo = invoice_body(acme, consulting, CustomerMemo={"value": "m" * 1001})
    assert fault(qbo.post("invoice", memo))["code"] == "2050"
    error = fault(qbo.post("invoice", invoice_body(acme, consulting, DocNumber="D" * 22)))
    assert error["code"] == "2050"
    assert error["Detail"].endswith("Min:0 Max:21 supported. Supplied length:22")


def test_duplicate_doc_number_is_6140_unless_allowed(qbo: Qbo) -> None:
    acme, consulting = customer(qbo)["Id"], item(qbo)["Id"]
    first = invoice(qbo, acme, consulting, DocNumber="INV-1")
    error = fault(qbo.post("invoice", invoice_body(acme, consulting, DocNumber="INV-1")))
    assert error["code"] == "6140" and error["Message"] == "Duplicate Document Number Error"
    assert f"TxnId={first['Id']}" in error["Detail"]
    allowed = qbo.post("invoice", invoice_body(acme, consulting, DocNumber="INV-1"), include="allowduplicatedocnum")
    assert allowed.status_code == 200
    assert qbo.create("CreditMemo", invoice_body(acme, consulting, DocNumber="INV-1"))["DocNumber"] == "INV-1"


def test_amount_must_equal_qty_times_price(qbo: Qbo) -> None:
    acme, consulting = customer(qbo)["Id"], item(qbo)["Id"]
    body = invoice_body(acme, consulting)
    body["Line"][0] = sales_line(consulting, 100, qty=3)
    body["Line"][0]["SalesItemLineDetail"]["UnitPrice"] = 33.33
    error = fault(qbo.post("invoice", body))
    assert error["code"] == "6070" and error["Message"] == "Amount calculation incorrect"
    body["Line"][0]["Amount"] = 99.99
    assert qbo.post("invoice", body).status_code == 200


def test_unknown_fields_are_2010_at_every_level(qbo: Qbo) -> None:
    acme, consulting = customer(qbo)["Id"], item(qbo)["Id"]
    error = fault(qbo.post("customer", {"DisplayName": "Typo Inc", "Emial": "x@y.z"}))
    assert error["code"] == "2010" and error["Detail"].startswith('Property Name:Unrecognized field "Emial"')
    line_level = invoice_body(acme, consulting)
    line_level["Line"][0]["Colour"] = "red"
    assert fault(qbo.post("invoice", line_level))["code"] == "2010"
    detail_level = invoice_body(acme, consulting)
    detail_level["Line"][0]["SalesItemLineDetail"]["Amount"] = 1
    assert "SalesItemLineDetail" in fault(qbo.post("invoice", detail_level))["Detail"]
    wrong_case = invoice_body(acme, consulting)
    wrong_case["Line"].append({"DetailType": "SubtotalLineDetail", "Amount": 1, "SubtotalLineDetail": {}})
    assert fault(qbo.post("invoice", wrong_case))["code"] == "2170"


@pytest.mark.parametrize("missing", ["CustomerRef", "Line"])
def test_required_invoice_fields_are_2020(qbo: Qbo, missing: str) -> None:
    body = invoice_body(customer(qbo)["Id"], item(qbo)["Id"])
    del body[missing]
    error = fault(qbo.post("invoice", body))
    assert error["code"] == "2020"
    assert error["Detail"] == f"Required parameter {missing} is missing in the request"


def test_payment_requires_total(qbo: Qbo) -> None:
    error = fault(qbo.post("payment", {"CustomerRef": {"value": customer(qbo)["Id"]}}))
    assert error["code"] == "2020" and "TotalAmt" in error["Detail"]


def test_references_to_missing_or_inactive_objects_are_2500(qbo: Qbo) -> None:
    acme, consulting = customer(qbo)["Id"], item(qbo)["Id"]
    error = fault(qbo.post("invoice", invoice_body("999", consulting)))
    assert error["code"] == "2500" and error["Detail"] == "Invalid Reference Id : Customers element id 999 not found"
    assert fault(qbo.post("invoice", invoice_body(acme, "999")))["code"] == "2500"
    qbo.create("Customer", {"Id": acme, "SyncToken": "0", "sparse": True, "Active": False})
    assert "inactive" in fault(qbo.post("invoice", invoice_body(acme, consulting)))["Detail"]


def test_invalid_email_is_rejected(qbo: Qbo) -> None:
    assert fault(qbo.post("customer", {"DisplayName": "Mail Co", "PrimaryEmailAddr": {"Address": "nope"}}))["code"] == "2210"


def test_customer_with_balance_cannot_be_made_inactive(qbo: Qbo) -> None:
    acme = customer(qbo)
    invoice(qbo, acme["Id"], item(qbo)["Id"])
    current = qbo.read("Customer", acme["Id"])
    body = {"Id": acme["Id"], "SyncToken": current["SyncToken"], "sparse": True, "Active": False}
    assert fault(qbo.post("customer", body))["code"] == "6220"


def test_closed_books_reject_transactions_with_6210(qbo: Qbo) -> None:
    acme, consulting = customer(qbo)["Id"], item(qbo)["Id"]
    old = invoice(qbo, acme, consulting, TxnDate="2024-03-01")
    qbo.control("close-books", {"date": "2024-03-31"})
    assert qbo.get("preferences").json()["Preferences"]["AccountingInfoPrefs"]["BookCloseDate"] == "2024-03-31"
    error = fault(qbo.post("invoice", invoice_body(acme, consulting, TxnDate="2024-03-31")))
    assert error["code"] == "6210" and error["Detail"] == PERIOD_CLOSED
    assert fault(qbo.post("payment", {"CustomerRef": {"value": acme}, "TotalAmt": 5, "TxnDate": "2024-01-02"}))["code"] == "6210"
    sparse = {"Id": old["Id"], "SyncToken": "0", "sparse": True, "TxnDate": "2024-04-02"}
    assert fault(qbo.post("invoice", sparse))["code"] == "6210"
    assert fault(qbo.post("invoice", {"Id": old["Id"], "SyncToken": "0"}, operation="void"))["code"] == "6210"
    assert qbo.post("invoice", invoice_body(acme, consulting, TxnDate="2024-04-01")).status_code == 200
    qbo.control("close-books", {"date": None})
    assert qbo.post("invoice", invoice_body(acme, consulting, TxnDate="2024-03-31")).status_code == 200


def test_overlapping_name_writes_get_6000(start_server: ServerFactory, connect: Callable[..., Qbo]) -> None:
    base_url, state = start_server(name_write_hold_seconds=0.4)
    qbo = connect(base_url, state)
    results: list[requests.Response] = []

    def create(name: str) -> None:
        results.append(qbo.post("customer", {"DisplayName": name}))

    threads = [threading.Thread(target=create, args=(name,)) for name in ("Overlap A", "Overlap B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(response.status_code for response in results) == [200, 400]
    error = fault(next(response for response in results if response.status_code == 400))
    assert error["code"] == "6000"
    assert error["Detail"] == "Business Validation Error: You can only add or edit one name at a time. Please try again."
    assert qbo.post("customer", {"DisplayName": "Overlap C"}).status_code == 200


def test_transaction_writes_do_not_take_the_name_lock(start_server: ServerFactory,
                                                      connect: Callable[..., Qbo]) -> None:
    base_url, state = start_server(name_write_hold_seconds=0.4)
    qbo = connect(base_url, state)
    acme, consulting = customer(qbo)["Id"], item(qbo)["Id"]
    slow = threading.Thread(target=qbo.post, args=("customer", {"DisplayName": "Holder"}))
    slow.start()
    try:
        assert qbo.post("invoice", invoice_body(acme, consulting)).status_code == 200
    finally:
        slow.join()


def _pay(qbo: Qbo, customer_id: str, invoice_id: str, total: float) -> Any:
    line = {"Amount": total, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
    return qbo.post("payment", {"CustomerRef": {"value": customer_id}, "TotalAmt": total, "Line": [line]})


def test_overpayment_is_accepted_and_the_excess_becomes_customer_credit(qbo: Qbo) -> None:
    """A live run: $30 applied to a $5 balance succeeded with UnappliedAmt 25, no error."""
    acme = customer(qbo)["Id"]
    inv = invoice(qbo, acme, item(qbo)["Id"], 100)
    payment(qbo, acme, 95, [("Invoice", inv["Id"], 95)])
    answer = _pay(qbo, acme, inv["Id"], 30)
    assert answer.status_code == 200, answer.text
    paid = answer.json()["Payment"]
    assert paid["UnappliedAmt"] == 25 and paid["TotalAmt"] == 30 and paid["Line"][0]["Amount"] == 5
    assert qbo.read("Invoice", inv["Id"])["Balance"] == 0
    assert qbo.read("Customer", acme)["Balance"] == -25
    on_paid_invoice = _pay(qbo, acme, inv["Id"], 10).json()["Payment"]
    assert on_paid_invoice["UnappliedAmt"] == 10 and on_paid_invoice["Line"] == []


def test_overpayment_refusal_is_a_switch(start_server: ServerFactory, connect: Callable[..., Qbo]) -> None:
    qbo = connect(*start_server(overpayment="refuse"))
    acme = customer(qbo)["Id"]
    inv = invoice(qbo, acme, item(qbo)["Id"], 100)
    error = fault(_pay(qbo, acme, inv["Id"], 150))
    assert error["code"] == "6000" and "exceeds its open balance" in error["Detail"]
    payment(qbo, acme, 60, [("Invoice", inv["Id"], 60)])
    assert fault(_pay(qbo, acme, inv["Id"], 50))["code"] == "6000"


def test_classes_locations_and_terms_are_lists_a_sales_form_refers_to(qbo: Qbo) -> None:
    acme, consulting = customer(qbo)["Id"], item(qbo)["Id"]
    region = qbo.create("Class", {"Name": "Retail"})
    child = qbo.create("Class", {"Name": "Online", "ParentRef": {"value": region["Id"]}})
    store = qbo.create("Department", {"Name": "Downtown"})
    net_15 = qbo.query("SELECT * FROM Term WHERE Name = 'Net 15'")["Term"][0]  # every company starts with it
    assert (child["FullyQualifiedName"], child["SubClass"]) == ("Retail:Online", True)
    assert qbo.read("Department", store["Id"])["Name"] == "Downtown"
    assert fault(qbo.post("class", {"Name": "retail"}))["code"] == "6240"

    created = invoice(qbo, acme, consulting, TxnDate="2026-03-01", ClassRef={"value": child["Id"]},
                      DepartmentRef={"value": store["Id"]}, SalesTermRef={"value": net_15["Id"]},
                      CustomField=[{"DefinitionId": "1", "Name": "Crew #", "Type": "StringType", "StringValue": "7"}])
    memo = qbo.create("CreditMemo", invoice_body(acme, consulting, 20.0, ClassRef={"value": region["Id"]}))

    assert (created["ClassRef"]["name"], created["DepartmentRef"]["name"]) == ("Online", "Downtown")
    assert created["DueDate"] == "2026-03-16"  # the term's 15 days
    assert created["CustomField"][0]["StringValue"] == "7"
    assert memo["ClassRef"]["value"] == region["Id"]


@pytest.mark.parametrize("field", ["ClassRef", "DepartmentRef", "SalesTermRef"])
def test_an_unknown_class_location_or_term_is_2500(qbo: Qbo, field: str) -> None:
    acme, consulting = customer(qbo)["Id"], item(qbo)["Id"]
    assert fault(qbo.post("invoice", invoice_body(acme, consulting, **{field: {"value": "999"}})))["code"] == "2500"


def test_custom_fields_are_the_three_sales_form_fields(qbo: Qbo) -> None:
    acme, consulting = customer(qbo)["Id"], item(qbo)["Id"]
    unknown = [{"DefinitionId": "4", "Name": "Extra", "Type": "StringType", "StringValue": "x"}]
    too_long = [{"DefinitionId": "2", "Name": "PO", "Type": "StringType", "StringValue": "x" * 32}]
    assert fault(qbo.post("invoice", invoice_body(acme, consulting, CustomField=unknown)))["code"] == "2500"
    assert fault(qbo.post("invoice", invoice_body(acme, consulting, CustomField=too_long)))["code"] == "2050"
