"""`GET /cdc`: what changed since a moment within 30 days, deletes as tombstones, at most
1,000 objects an answer, in the shape of Intuit's documented and recorded answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from qbo_support import Json, Qbo, ServerFactory, customer, fault, invoice, item

LIST_SHAPE = {"startPosition", "maxResults", "totalCount"}


def now(qbo: Qbo) -> datetime:
    return qbo.state.clock.now().replace(microsecond=0)


def cdc(qbo: Qbo, entities: str, since: datetime | str, **extra: Any) -> Json:
    text = since if isinstance(since, str) else since.isoformat()
    response = qbo.get("cdc", entities=entities, changedSince=text, **extra)
    assert response.status_code == 200, response.text
    body: Json = response.json()
    assert set(body) == {"CDCResponse", "time"}
    [answer] = body["CDCResponse"]
    return dict(answer)


def by_entity(answer: Json) -> dict[str, list[Json]]:
    found: dict[str, list[Json]] = {}
    for entry in answer["QueryResponse"]:
        for key, value in entry.items():
            if key not in LIST_SHAPE:
                found[key] = value
    return found


def delete(qbo: Qbo, entity: str, obj: Json) -> None:
    response = qbo.post(entity.lower(), {"Id": obj["Id"], "SyncToken": obj["SyncToken"]}, operation="delete")
    assert response.status_code == 200, response.text


def test_changes_come_per_requested_type_in_quickbooks_order(qbo: Qbo) -> None:
    start = now(qbo)
    acme = customer(qbo, "Acme Corp")
    first = invoice(qbo, acme["Id"], item(qbo)["Id"])

    answer = cdc(qbo, "invoice,Customer,Payment", start - timedelta(minutes=1))

    customers, invoices, payments = answer["QueryResponse"]
    assert payments == {}  # a requested type without changes answers an empty QueryResponse
    assert [row["Id"] for row in customers["Customer"]] == [acme["Id"]]
    assert (customers["startPosition"], customers["maxResults"], customers["totalCount"]) == (1, 1, 1)
    [changed] = invoices["Invoice"]
    assert changed["Id"] == first["Id"] and changed["TotalAmt"] == 300  # the full payload
    assert set(invoices) == {"Invoice"} | LIST_SHAPE


def test_no_changes_answer_one_empty_query_response(qbo: Qbo) -> None:
    customer(qbo, "Before")
    qbo.control("clock", {"advance_seconds": 60})

    assert cdc(qbo, "Customer,Invoice", now(qbo)) == {"QueryResponse": [{}]}


def test_a_deleted_invoice_is_a_tombstone_after_the_changed_ones_and_a_void_a_change(qbo: Qbo) -> None:
    acme, consulting = customer(qbo, "Acme Corp"), item(qbo)
    doomed, voided, edited = (invoice(qbo, acme["Id"], consulting["Id"]) for _ in range(3))
    start = now(qbo)
    qbo.control("clock", {"advance_seconds": 5})
    delete(qbo, "Invoice", doomed)
    qbo.control("clock", {"advance_seconds": 5})
    assert qbo.post("invoice", {"Id": voided["Id"], "SyncToken": voided["SyncToken"]}, operation="void").ok
    qbo.control("clock", {"advance_seconds": 5})
    assert qbo.post("invoice", {"Id": edited["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "x"}).ok

    invoices = by_entity(cdc(qbo, "Invoice", start + timedelta(seconds=1)))["Invoice"]

    assert [row["Id"] for row in invoices] == [voided["Id"], edited["Id"], doomed["Id"]]
    assert invoices[0]["TotalAmt"] == 0 and invoices[0]["PrivateNote"].startswith("Voided")
    tombstone = invoices[-1]
    assert set(tombstone) == {"domain", "status", "Id", "MetaData"}
    assert (tombstone["status"], tombstone["domain"]) == ("Deleted", "QBO")
    assert set(tombstone["MetaData"]) == {"LastUpdatedTime"}
    deleted_at = datetime.fromisoformat(tombstone["MetaData"]["LastUpdatedTime"])
    assert start + timedelta(seconds=5) <= deleted_at < start + timedelta(seconds=10)
    # Deleted before the moment asked for: no longer reported.
    assert by_entity(cdc(qbo, "Invoice", deleted_at + timedelta(seconds=1)))["Invoice"][-1]["Id"] == edited["Id"]


def test_the_look_back_is_at_most_thirty_days(qbo: Qbo) -> None:
    customer(qbo, "Acme Corp")
    assert cdc(qbo, "Customer", now(qbo) - timedelta(days=29, hours=23))["QueryResponse"] != [{}]

    too_old = (now(qbo) - timedelta(days=30, minutes=1)).isoformat()
    error = fault(qbo.get("cdc", entities="Customer", changedSince=too_old))
    assert error["code"] == "500"
    assert error["Detail"] == f"Operation cdc with changedSince date {too_old} which is older than fixed days is not supported."


def test_a_moved_clock_ages_the_look_back(qbo: Qbo) -> None:
    since = now(qbo)
    qbo.control("clock", {"advance_seconds": 31 * 86_400})

    assert fault(qbo.get("cdc", entities="Invoice", changedSince=since.isoformat()))["code"] == "500"


def test_a_bare_date_is_midnight_company_time(qbo: Qbo) -> None:
    customer(qbo, "Acme Corp")
    today = now(qbo).date().isoformat()

    assert len(by_entity(cdc(qbo, "Customer", today))["Customer"]) == 1


def test_types_cdc_does_not_cover_are_refused(qbo: Qbo) -> None:
    assert fault(qbo.get("cdc", entities="TaxCode", changedSince=now(qbo).isoformat()))["code"] == "500"
    assert fault(qbo.get("cdc", changedSince=now(qbo).isoformat()))["code"] == "2020"


def test_one_answer_holds_at_most_the_cap_shared_by_all_types(start_server: ServerFactory, connect: Any) -> None:
    base_url, state = start_server(cdc_max_objects=3)
    qbo = connect(base_url, state)
    since = state.clock.now() - timedelta(minutes=1)
    acme, globex = customer(qbo, "Acme Corp"), customer(qbo, "Globex")
    consulting = item(qbo)
    for _ in range(2):
        invoice(qbo, acme["Id"], consulting["Id"])

    found = by_entity(cdc(qbo, "Customer,Invoice", since))

    # Customers come first; the cap cuts the invoices without a sign.
    assert [len(found["Customer"]), len(found["Invoice"])] == [2, 1]
    assert {row["Id"] for row in found["Customer"]} == {acme["Id"], globex["Id"]}


def test_per_type_cap_behind_a_switch(start_server: ServerFactory, connect: Any) -> None:
    base_url, state = start_server(cdc_max_objects=2, cdc_cap_per_entity=True)
    qbo = connect(base_url, state)
    since = state.clock.now() - timedelta(minutes=1)
    acme, consulting = customer(qbo, "Acme Corp"), item(qbo)
    customer(qbo, "Globex")
    for _ in range(3):
        invoice(qbo, acme["Id"], consulting["Id"])

    found = by_entity(cdc(qbo, "Customer,Invoice", since))

    assert [len(found["Customer"]), len(found["Invoice"])] == [2, 2]


def test_stats_count_metered_reads_apart_from_writes(qbo: Qbo) -> None:
    acme = customer(qbo, "Acme Corp")  # write
    qbo.read("Customer", acme["Id"])  # read
    qbo.query("SELECT * FROM Customer")  # read (GET query)
    assert qbo.post("query", None).status_code == 400  # read (a POSTed query, even a refused one)
    cdc(qbo, "Customer", now(qbo))  # read
    qbo.post("batch", {"BatchItemRequest": [{"bId": "1", "Query": "SELECT * FROM Item"}]})  # a batch: write
    qbo.control("seed")  # controls count as neither

    stats = qbo.session.get(f"{qbo.base_url}/_sandbox/stats", timeout=10).json()

    assert (stats["reads"], stats["writes"]) == (4, 2)
