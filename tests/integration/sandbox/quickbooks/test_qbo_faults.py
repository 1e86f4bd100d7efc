"""Injected faults on accounting requests only: gateway errors, slowness, commit-then-drop, 6000, 5010."""

from __future__ import annotations

import time

import pytest
import requests
from qbo_support import Qbo, customer, fault


def _inject(qbo: Qbo, *kinds: str, **extra: object) -> None:
    qbo.control("faults", {"probability": 1.0, "kinds": list(kinds), "seed": 7, **extra})


def test_429_fault(qbo: Qbo) -> None:
    _inject(qbo, "429")
    response = qbo.get("preferences")
    assert response.status_code == 429 and "Retry-After" in response.headers
    assert response.json()["Fault"]["Error"][0]["code"] == "3001"


def test_500_fault(qbo: Qbo) -> None:
    _inject(qbo, "500")
    response = qbo.post("customer", {"DisplayName": "Never Stored"})
    assert response.status_code == 500
    assert response.json()["Fault"]["type"] == "SystemFault"
    assert response.json()["Fault"]["Error"][0]["code"] == "10000"
    qbo.control("faults", {"probability": 0.0})
    assert qbo.query("SELECT * FROM Customer") == {}


def test_503_fault_is_html(qbo: Qbo) -> None:
    _inject(qbo, "503")
    response = qbo.get("preferences")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")


def test_slow_fault_times_out_client_but_write_completes(qbo: Qbo) -> None:
    _inject(qbo, "slow", slow_seconds=0.6)
    with pytest.raises(requests.exceptions.ReadTimeout):
        qbo.post("customer", {"DisplayName": "Slow Poke"}, timeout=0.2)
    qbo.control("faults", {"probability": 0.0})
    time.sleep(0.5)
    assert qbo.count("SELECT COUNT(*) FROM Customer WHERE DisplayName = 'Slow Poke'") == 1


def test_drop_commits_then_cuts_the_connection(qbo: Qbo) -> None:
    _inject(qbo, "drop")
    with pytest.raises(requests.exceptions.RequestException):
        qbo.post("customer", {"DisplayName": "Dropped Answer"}, requestid="drop-1")
    qbo.control("faults", {"probability": 0.0})
    assert qbo.count("SELECT COUNT(*) FROM Customer WHERE DisplayName = 'Dropped Answer'") == 1
    retry = qbo.post("customer", {"DisplayName": "Dropped Answer"}, requestid="drop-1")
    assert retry.status_code == 200
    assert qbo.count("SELECT COUNT(*) FROM Customer") == 1


def test_drop_never_hits_reads(qbo: Qbo) -> None:
    _inject(qbo, "drop")
    assert qbo.get("preferences").status_code == 200


def test_6000_fault_only_on_name_list_writes(qbo: Qbo) -> None:
    _inject(qbo, "6000")
    error = fault(qbo.post("customer", {"DisplayName": "Busy"}))
    assert error["code"] == "6000" and "one name at a time" in error["Detail"]
    assert qbo.get("preferences").status_code == 200
    qbo.control("faults", {"probability": 0.0})
    assert qbo.query("SELECT * FROM Customer") == {}


def test_5010_fault_only_on_updates(qbo: Qbo) -> None:
    created = customer(qbo)
    _inject(qbo, "5010")
    assert qbo.post("customer", {"DisplayName": "Creates Are Fine"}).status_code == 200
    error = fault(qbo.post("customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Notes": "x"}))
    assert error["code"] == "5010"
    assert qbo.read("Customer", created["Id"])["SyncToken"] == "0"


def test_faults_never_touch_control_or_oauth(qbo: Qbo) -> None:
    _inject(qbo, "500", "503", "429")
    assert requests.get(f"{qbo.base_url}/_sandbox/info", timeout=10).status_code == 200
    refresh = requests.post(f"{qbo.base_url}/oauth2/v1/tokens/bearer",
                            data={"grant_type": "refresh_token", "refresh_token": qbo.refresh_token},
                            auth=(qbo.state.config.client_id, qbo.state.config.client_secret), timeout=10)
    assert refresh.status_code == 200


def test_seeded_faults_are_reproducible(qbo: Qbo) -> None:
    def statuses() -> list[int]:
        qbo.control("faults", {"probability": 0.5, "kinds": ["500"], "seed": 42})
        return [qbo.get("preferences").status_code for _ in range(12)]

    first = statuses()
    assert set(first) == {200, 500}
    assert statuses() == first
