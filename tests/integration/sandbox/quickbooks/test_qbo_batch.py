"""`/batch`: independent items, per-item faults, size limits."""

from __future__ import annotations

from collections.abc import Callable

from qbo_support import Json, Qbo, ServerFactory, customer, fault, invoice, invoice_body, item, payment


def _batch(qbo: Qbo, items: list[Json], **params: str) -> list[Json]:
    response = qbo.post("batch", {"BatchItemRequest": items}, **params)
    assert response.status_code == 200, response.text
    answers: list[Json] = response.json()["BatchItemResponse"]
    return answers


def test_mixed_operations_and_query(qbo: Qbo) -> None:
    acme = customer(qbo)
    consulting = item(qbo)["Id"]
    old = invoice(qbo, acme["Id"], consulting)
    answers = _batch(qbo, [
        {"bId": "1", "operation": "create", "Vendor": {"DisplayName": "Smith Family Store"}},
        {"bId": "2", "operation": "update", "Customer": {"Id": acme["Id"], "SyncToken": "0", "sparse": True,
                                                         "Notes": "batched"}},
        {"bId": "3", "operation": "delete", "Invoice": {"Id": old["Id"], "SyncToken": old["SyncToken"]}},
        {"bId": "4", "Query": "SELECT COUNT(*) FROM Customer"},
    ])
    assert [answer["bId"] for answer in answers] == ["1", "2", "3", "4"]
    assert answers[0]["Vendor"]["DisplayName"] == "Smith Family Store"
    assert answers[1]["Customer"]["Notes"] == "batched"
    assert answers[2]["Invoice"] == {"status": "Deleted", "domain": "QBO", "Id": old["Id"]}
    assert answers[3]["QueryResponse"] == {"totalCount": 1}


def test_items_fail_independently_with_their_own_fault(qbo: Qbo) -> None:
    customer(qbo, "Taken")
    answers = _batch(qbo, [
        {"bId": "ok1", "operation": "create", "Customer": {"DisplayName": "Fresh"}},
        {"bId": "dup", "operation": "create", "Customer": {"DisplayName": "Taken"}},
        {"bId": "gone", "operation": "delete", "Invoice": {"Id": "129", "SyncToken": "0"}},
        {"bId": "ok2", "operation": "create", "Customer": {"DisplayName": "Fresher"}},
    ])
    assert "Customer" in answers[0] and "Customer" in answers[3]
    assert answers[1]["Fault"]["type"] == "ValidationFault"
    assert answers[1]["Fault"]["Error"][0]["code"] == "6240"
    assert answers[2]["Fault"]["Error"][0]["code"] == "610"
    assert qbo.count("SELECT COUNT(*) FROM Customer") == 3


def test_stale_item_faults_5010(qbo: Qbo) -> None:
    acme = customer(qbo)
    qbo.create("Customer", {"Id": acme["Id"], "SyncToken": "0", "sparse": True, "Notes": "moved on"})
    answers = _batch(qbo, [{"bId": "s", "operation": "update",
                            "Customer": {"Id": acme["Id"], "SyncToken": "0", "sparse": True, "Notes": "late"}}])
    assert answers[0]["Fault"]["Error"][0]["code"] == "5010"


def test_objects_created_in_the_batch_are_not_visible_to_later_items(qbo: Qbo) -> None:
    consulting = item(qbo)["Id"]
    next_id = str(int(customer(qbo, "Existing")["Id"]) + 1)
    answers = _batch(qbo, [
        {"bId": "c", "operation": "create", "Customer": {"DisplayName": "Brand New"}},
        {"bId": "i", "operation": "create", "Invoice": invoice_body(next_id, consulting)},
    ])
    assert answers[0]["Customer"]["Id"] == next_id
    assert answers[1]["Fault"]["Error"][0]["code"] == "2500"


def test_more_than_10_items_is_1040_by_default(qbo: Qbo) -> None:
    """Intuit's learn page says 10 per batch, its API reference 30: the sandbox takes 10."""
    items = [{"bId": str(n), "Query": "SELECT COUNT(*) FROM Item"} for n in range(11)]
    error = fault(qbo.post("batch", {"BatchItemRequest": items}))
    assert error["code"] == "1040" and error["Message"] == "Batch size exceeds allowed limit"
    assert len(_batch(qbo, items[:10])) == 10


def test_the_api_reference_limit_of_30_is_a_switch(start_server: ServerFactory, connect: Callable[..., Qbo]) -> None:
    qbo = connect(*start_server(batch_max_items=30))
    items = [{"bId": str(n), "Query": "SELECT COUNT(*) FROM Item"} for n in range(31)]
    assert fault(qbo.post("batch", {"BatchItemRequest": items}))["code"] == "1040"
    assert len(_batch(qbo, items[:30])) == 30


def test_empty_batch_is_malformed(qbo: Qbo) -> None:
    error = fault(qbo.post("batch", {"BatchItemRequest": []}))
    assert error["Message"] == "MalformedRequest" and error["Detail"] == "Batch Request is Empty"


def test_void_through_options_data(qbo: Qbo) -> None:
    acme = customer(qbo)["Id"]
    consulting = item(qbo)["Id"]
    inv = invoice(qbo, acme, consulting, 300)
    other = invoice(qbo, acme, consulting, 80)
    paid = payment(qbo, acme, 80, [("Invoice", other["Id"], 80)])
    answers = _batch(qbo, [
        {"bId": "v1", "operation": "void", "Invoice": {"Id": inv["Id"], "SyncToken": "0"}},
        {"bId": "v2", "operation": "update", "optionsData": "void",
         "Payment": {"Id": paid["Id"], "SyncToken": "0", "sparse": True}},
    ])
    assert answers[0]["Invoice"]["TotalAmt"] == 0
    assert answers[1]["Payment"]["TotalAmt"] == 0
    assert qbo.read("Invoice", other["Id"])["Balance"] == 80


def test_allow_duplicate_doc_number_through_options_data(qbo: Qbo) -> None:
    acme, consulting = customer(qbo)["Id"], item(qbo)["Id"]
    invoice(qbo, acme, consulting, DocNumber="D-1")
    body = invoice_body(acme, consulting, DocNumber="D-1")
    answers = _batch(qbo, [
        {"bId": "a", "operation": "create", "Invoice": body},
        {"bId": "b", "operation": "create", "optionsData": "allowduplicatedocnum", "Invoice": body},
    ])
    assert answers[0]["Fault"]["Error"][0]["code"] == "6140"
    assert answers[1]["Invoice"]["DocNumber"] == "D-1"
