"""The query language against the demo company: grammar, operators, paging, shapes, errors, speed."""

from __future__ import annotations

import time

import pytest
from qbo_support import Qbo, customer, fault

from sandbox.quickbooks.rules import stamp_new


def test_select_returns_rows_and_paging_fields(seeded: Qbo) -> None:
    result = seeded.query("SELECT * FROM Customer")
    assert len(result["Customer"]) == 10
    assert result["startPosition"] == 1
    assert result["maxResults"] == 10


def test_count_returns_total_only(seeded: Qbo) -> None:
    assert seeded.query("SELECT COUNT(*) FROM Invoice") == {"totalCount": 15}


def test_empty_result_is_empty_query_response(seeded: Qbo) -> None:
    response = seeded.get("query", query="SELECT * FROM Customer WHERE DisplayName = 'Nobody'")
    body = response.json()
    assert body["QueryResponse"] == {}
    assert "time" in body


def test_escaped_quote(seeded: Qbo) -> None:
    rows = seeded.query("SELECT * FROM Customer WHERE DisplayName = 'Amy\\'s Bird Sanctuary'")["Customer"]
    assert [row["DisplayName"] for row in rows] == ["Amy's Bird Sanctuary"]


def test_unescaped_quote_is_parse_error_4000(seeded: Qbo) -> None:
    error = fault(seeded.get("query", query="SELECT * FROM Customer WHERE DisplayName = 'Amy's Bird Sanctuary'"))
    assert error["code"] == "4000"
    assert error["Message"] == "Error parsing query"
    assert error["Detail"].startswith("QueryParserError: Encountered ")


@pytest.mark.parametrize("text", ["SELEC * FROM Customer", "SELECT * FROM", "SELECT * FROM Customer WHERE",
                                  "SELECT * FROM Customer WHERE Id IN 1", "SELECT * FROM Customer MAXRESULTS"])
def test_malformed_queries_are_4000(seeded: Qbo, text: str) -> None:
    assert fault(seeded.get("query", query=text))["code"] == "4000"


def test_in_operator(seeded: Qbo) -> None:
    rows = seeded.query("SELECT * FROM Invoice WHERE DocNumber IN ('1001', '1003', '9999')")["Invoice"]
    assert sorted(row["DocNumber"] for row in rows) == ["1001", "1003"]


def test_like_with_wildcards_is_case_insensitive(seeded: Qbo) -> None:
    rows = seeded.query("select * from customer where displayname like '%CAR%'")["Customer"]
    assert [row["DisplayName"] for row in rows] == ["Cool Cars"]
    starts = seeded.query("SELECT * FROM Customer WHERE DisplayName LIKE 'D%'")["Customer"]
    assert sorted(row["DisplayName"] for row in starts) == ["Diego Rodriguez", "Dukes Basketball Camp"]


def test_comparison_operators_on_numbers_and_dates(seeded: Qbo) -> None:
    open_rows = seeded.query("SELECT * FROM Invoice WHERE Balance > '0' MAXRESULTS 1000")["Invoice"]
    assert len(open_rows) == 13 and all(row["Balance"] > 0 for row in open_rows)
    assert seeded.count("SELECT COUNT(*) FROM Invoice WHERE Balance <= '0'") == 2
    first = seeded.query("SELECT * FROM Invoice ORDERBY TxnDate MAXRESULTS 1")["Invoice"][0]["TxnDate"]
    assert seeded.count(f"SELECT COUNT(*) FROM Invoice WHERE TxnDate >= '{first}'") == 15
    assert seeded.count(f"SELECT COUNT(*) FROM Invoice WHERE TxnDate < '{first}'") == 0
    assert seeded.count("SELECT COUNT(*) FROM Invoice WHERE TotalAmt >= '500' AND Balance > '0'") >= 1


def test_reference_fields_compare_by_id(seeded: Qbo) -> None:
    amy = seeded.query("SELECT * FROM Customer WHERE DisplayName LIKE 'Amy%'")["Customer"][0]
    rows = seeded.query(f"SELECT * FROM Invoice WHERE CustomerRef = '{amy['Id']}'")["Invoice"]
    assert {row["DocNumber"] for row in rows} == {"1001", "1011"}


def test_order_by_both_spellings_and_directions(seeded: Qbo) -> None:
    names = [row["DisplayName"] for row in seeded.query("SELECT * FROM Customer ORDERBY DisplayName DESC")["Customer"]]
    assert names == sorted(names, key=str.casefold, reverse=True)
    spaced = seeded.query("SELECT * FROM Customer ORDER BY DisplayName ASC")["Customer"]
    assert [row["DisplayName"] for row in spaced] == names[::-1]
    multi = seeded.query("SELECT * FROM Invoice ORDER BY CustomerRef, DocNumber DESC MAXRESULTS 3")["Invoice"]
    assert [row["DocNumber"] for row in multi] == ["1011", "1001", "1012"]


def test_paging_is_one_based_and_max_results_counts_returned_rows(seeded: Qbo) -> None:
    page = seeded.query("SELECT * FROM Invoice ORDERBY DocNumber STARTPOSITION 11 MAXRESULTS 10")
    assert [row["DocNumber"] for row in page["Invoice"]] == ["1011", "1012", "1013", "1014", "1015"]
    assert page["startPosition"] == 11 and page["maxResults"] == 5
    zero = seeded.query("SELECT * FROM Invoice ORDERBY DocNumber STARTPOSITION 0 MAXRESULTS 1")
    assert zero["startPosition"] == 1 and zero["Invoice"][0]["DocNumber"] == "1001"


def test_default_page_size_is_100(qbo: Qbo) -> None:
    realm = qbo.state.default_realm
    ctx = qbo.state.context(realm)
    for index in range(120):
        realm.put("Vendor", stamp_new(ctx, "Vendor", {"DisplayName": f"Vendor {index}", "Active": True}))
    assert qbo.query("SELECT * FROM Vendor")["maxResults"] == 100
    assert qbo.query("SELECT * FROM Vendor STARTPOSITION 101")["maxResults"] == 20


def test_name_lists_hide_inactive_rows_unless_asked(seeded: Qbo) -> None:
    cool = seeded.query("SELECT * FROM Customer WHERE DisplayName = 'Cool Cars'")["Customer"][0]
    seeded.create("Customer", {"Id": cool["Id"], "SyncToken": cool["SyncToken"], "sparse": True, "Active": False})
    assert seeded.count("SELECT COUNT(*) FROM Customer") == 9
    assert seeded.count("SELECT COUNT(*) FROM Customer WHERE Active = false") == 1
    assert seeded.count("SELECT COUNT(*) FROM Customer WHERE Active IN (true, false)") == 10


def test_metadata_spellings_and_timestamps(qbo: Qbo) -> None:
    created = customer(qbo)
    stamp = created["MetaData"]["LastUpdatedTime"]
    for spelling in ("MetaData.LastUpdatedTime", "Metadata.LastUpdatedTime", "metadata.lastupdatedtime"):
        assert qbo.count(f"SELECT COUNT(*) FROM Customer WHERE {spelling} >= '{stamp}'") == 1
        assert qbo.count(f"SELECT COUNT(*) FROM Customer WHERE {spelling} > '{stamp}'") == 0


def test_timestamp_comparison_respects_offsets(qbo: Qbo) -> None:
    created = customer(qbo)
    stamp = created["MetaData"]["LastUpdatedTime"]
    utc_earlier = "2000-01-01T00:00:00Z"
    assert qbo.count(f"SELECT COUNT(*) FROM Customer WHERE MetaData.CreateTime > '{utc_earlier}'") == 1
    assert stamp[-6:] in ("-08:00", "-07:00")


def test_offsets_follow_daylight_saving_and_compare_as_instants(qbo: Qbo) -> None:
    """Recorded responses of one company: -08:00 in November, -07:00 in April and July.
    At the November change, 01:10-08:00 comes 40 minutes *after* 01:30-07:00."""
    qbo.control("clock", {"now": "2030-07-01T12:00:00-07:00"})
    summer = customer(qbo, "Summer")["MetaData"]["CreateTime"]
    qbo.control("clock", {"now": "2030-11-03T01:30:00-07:00"})
    before_change = customer(qbo, "Before")["MetaData"]["CreateTime"]
    qbo.control("clock", {"now": "2030-11-03T01:10:00-08:00"})
    after_change = customer(qbo, "After")
    assert summer.endswith("-07:00") and before_change.startswith("2030-11-03T01:30") and before_change.endswith("-07:00")
    assert after_change["MetaData"]["CreateTime"].startswith("2030-11-03T01:10")
    assert after_change["MetaData"]["CreateTime"].endswith("-08:00")
    later = qbo.query(f"SELECT * FROM Customer WHERE MetaData.LastUpdatedTime > '{before_change}'")["Customer"]
    assert [row["DisplayName"] for row in later] == ["After"]
    ordered = qbo.query("SELECT * FROM Customer ORDER BY MetaData.LastUpdatedTime DESC")["Customer"]
    assert [row["DisplayName"] for row in ordered] == ["After", "Before", "Summer"]
    assert qbo.get("preferences").json()["time"].endswith("-08:00")


def test_id_equals_and_in(seeded: Qbo) -> None:
    assert [row["Id"] for row in seeded.query("SELECT * FROM Invoice WHERE Id = '3'")["Invoice"]] == ["3"]
    rows = seeded.query("SELECT * FROM Invoice WHERE Id IN ('5', '2', '99')")["Invoice"]
    assert [row["Id"] for row in rows] == ["2", "5"]


def test_select_field_list_still_returns_whole_objects(seeded: Qbo) -> None:
    rows = seeded.query("SELECT *, Sku FROM Item WHERE Name = 'Consulting'")["Item"]
    assert rows[0]["IncomeAccountRef"]["name"] == "Services"


def test_post_query_with_application_text(seeded: Qbo) -> None:
    response = seeded.session.post(seeded.url("query"), data="SELECT COUNT(*) FROM Item",
                                   headers={**seeded.headers(), "Content-Type": "application/text"}, timeout=10)
    assert response.status_code == 200
    assert response.json()["QueryResponse"] == {"totalCount": 5}


def test_account_by_subtype(seeded: Qbo) -> None:
    rows = seeded.query("SELECT * FROM Account WHERE AccountSubType = 'UndepositedFunds'")["Account"]
    assert [row["Name"] for row in rows] == ["Undeposited Funds"]


def test_unknown_entity_or_property_is_invalid_query(seeded: Qbo) -> None:
    assert fault(seeded.get("query", query="SELECT * FROM Gadget"))["code"] == "4001"
    assert fault(seeded.get("query", query="SELECT * FROM Customer WHERE Colour = 'red'"))["code"] == "4001"


def test_minorversion_is_accepted(seeded: Qbo) -> None:
    assert seeded.get("query", query="SELECT COUNT(*) FROM Item", minorversion=75).status_code == 200


def test_queries_stay_fast_with_100k_invoices(seeded: Qbo) -> None:
    realm = seeded.state.default_realm
    template = realm.get("Invoice", "1")
    assert template is not None
    with realm.lock:
        for number in range(100_000):
            obj_id = realm.next_id("Invoice")
            realm.tables["Invoice"][obj_id] = {**template, "Id": obj_id, "DocNumber": f"B{number}"}
    started = time.perf_counter()
    assert seeded.count("SELECT COUNT(*) FROM Invoice WHERE Balance > '0'") > 100_000
    page = seeded.query("SELECT * FROM Invoice WHERE Metadata.LastUpdatedTime >= '2000-01-01' "
                        "ORDERBY Metadata.LastUpdatedTime STARTPOSITION 50001 MAXRESULTS 5000")
    assert page["maxResults"] == 1000
    by_id = seeded.query("SELECT * FROM Invoice WHERE Id IN ('99999', '100001')")["Invoice"]
    assert [row["Id"] for row in by_id] == ["99999", "100001"]
    assert time.perf_counter() - started < 5
