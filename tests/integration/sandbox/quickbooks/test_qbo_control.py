"""`/_sandbox/*` controls and the demo company."""

from __future__ import annotations

import time

import requests
from qbo_support import Qbo, ServerFactory, customer


def test_info_reports_credentials_realm_and_endpoints(qbo: Qbo) -> None:
    info = requests.get(f"{qbo.base_url}/_sandbox/info", timeout=10).json()
    assert info["realm_id"] == qbo.realm_id
    assert info["client_id"] == qbo.state.config.client_id and info["client_secret"]
    assert info["endpoints"]["token"].endswith("/oauth2/v1/tokens/bearer")
    assert info["faults"]["probability"] == 0.0
    assert [(realm["realm_id"], realm["company_name"], realm["profile"]["country"]) for realm in info["realms"]] == [
        (qbo.realm_id, info["company_name"], "US")]


def test_generated_credentials_differ_per_server(qbo: Qbo, start_server: ServerFactory) -> None:
    _, other = start_server()
    assert other.config.client_secret != qbo.state.config.client_secret
    assert other.config.realm_id != qbo.state.config.realm_id


def test_reset_gives_an_empty_company_with_default_accounts(qbo: Qbo) -> None:
    customer(qbo)
    qbo.control("reset")
    assert qbo.query("SELECT * FROM Customer") == {}
    subtypes = {row["AccountSubType"] for row in qbo.query("SELECT * FROM Account")["Account"]}
    assert {"UndepositedFunds", "AccountsReceivable", "Checking", "ServiceFeeIncome"} <= subtypes
    assert qbo.get("preferences").status_code == 200


def test_seed_loads_the_demo_company(qbo: Qbo) -> None:
    counts = qbo.control("seed")["counts"]
    assert counts["Customer"] == 10 and counts["Invoice"] == 15 and counts["Vendor"] == 1
    assert qbo.control("seed")["counts"] == counts
    vendors = qbo.query("SELECT * FROM Vendor")["Vendor"]
    assert [row["DisplayName"] for row in vendors] == ["Northwind Supplies"]
    with_email = qbo.count("SELECT COUNT(*) FROM Customer WHERE PrimaryEmailAddr.Address LIKE '%@%'")
    assert 0 < with_email < 10


def test_new_realm_is_empty_and_separate(qbo: Qbo) -> None:
    customer(qbo)
    created = qbo.control("realms", {"company_name": "Other Books"})
    token = qbo.control("token", {"realm_id": created["realm_id"]})
    assert token["realm_id"] == created["realm_id"]
    url = qbo.url("query", realm_id=created["realm_id"])
    response = requests.get(url, params={"query": "SELECT * FROM Customer"},
                            headers=qbo.headers(token["access_token"]), timeout=10)
    assert response.json()["QueryResponse"] == {}


def test_stats_count_requests_by_route(qbo: Qbo) -> None:
    qbo.get("preferences")
    qbo.get("preferences")
    qbo.get("customer/77")
    rows = requests.get(f"{qbo.base_url}/_sandbox/stats", timeout=10).json()["requests"]
    counts = {(row["method"], row["path"], row["status"]): row["count"] for row in rows}
    assert counts[("GET", "/v3/company/{realm_id}/preferences", 200)] == 2
    assert counts[("GET", "/v3/company/{realm_id}/{entity_path}/{obj_id}", 400)] == 1
    assert qbo.control("stats/reset")["total"] == 0


def test_latency_is_off_by_default_and_costs_a_base_plus_a_share_per_batch_item(qbo: Qbo) -> None:
    assert requests.get(f"{qbo.base_url}/_sandbox/info", timeout=10).json()["latency"]["enabled"] is False
    qbo.control("latency", {"enabled": True, "base_seconds": 0.2, "per_item_seconds": 0.1})
    started = time.perf_counter()
    assert qbo.get("preferences").status_code == 200
    single = time.perf_counter() - started
    items = [{"bId": str(n), "Query": "SELECT COUNT(*) FROM Item"} for n in range(5)]
    started = time.perf_counter()
    assert qbo.post("batch", {"BatchItemRequest": items}).status_code == 200
    batch = time.perf_counter() - started
    assert single >= 0.3 and batch >= 0.7
    qbo.control("reset")
    assert requests.get(f"{qbo.base_url}/_sandbox/info", timeout=10).json()["latency"]["enabled"] is False
