"""Per-realm throttles: requests per window, batches per window, requests in flight."""

from __future__ import annotations

import threading
import time

import requests
from qbo_support import Qbo


def _throttled(response: requests.Response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["Retry-After"]) >= 1
    error = response.json()["Fault"]["Error"][0]
    assert error["code"] == "3001"
    assert error["Message"] == "message=ThrottleExceeded; errorCode=003001; statusCode=429"
    assert response.json()["Fault"]["type"] == "SERVICE"


def test_requests_per_window(qbo: Qbo) -> None:
    qbo.control("limits", {"requests_per_window": 3, "window_seconds": 60})
    for _ in range(3):
        assert qbo.get("preferences").status_code == 200
    _throttled(qbo.get("preferences"))
    assert int(qbo.get("preferences").headers["Retry-After"]) in range(55, 61)


def test_window_frees_up_after_window_seconds(qbo: Qbo) -> None:
    qbo.control("limits", {"requests_per_window": 2, "window_seconds": 0.3})
    assert [qbo.get("preferences").status_code for _ in range(3)] == [200, 200, 429]
    time.sleep(0.35)
    assert qbo.get("preferences").status_code == 200


def test_limits_are_per_realm_and_skip_control_and_oauth(qbo: Qbo) -> None:
    qbo.control("limits", {"requests_per_window": 1})
    assert qbo.get("preferences").status_code == 200
    _throttled(qbo.get("preferences"))
    other = qbo.control("realms")["realm_id"]
    token = qbo.control("token", {"realm_id": other})["access_token"]
    other_url = qbo.url("preferences", realm_id=other)
    assert requests.get(other_url, headers=qbo.headers(token), timeout=10).status_code == 200
    assert requests.get(f"{qbo.base_url}/_sandbox/info", timeout=10).status_code == 200
    assert requests.get(f"{qbo.base_url}/.well-known/openid_configuration", timeout=10).status_code == 200


def test_batch_counts_as_one_request_and_one_batch(qbo: Qbo) -> None:
    qbo.control("limits", {"requests_per_window": 3, "batch_per_window": 1})
    body = {"BatchItemRequest": [{"bId": str(n), "Query": "SELECT COUNT(*) FROM Item"} for n in range(5)]}
    assert qbo.post("batch", body).status_code == 200
    _throttled(qbo.post("batch", body))
    assert qbo.get("preferences").status_code == 200
    assert qbo.get("preferences").status_code == 200
    _throttled(qbo.get("preferences"))


def test_concurrent_requests_per_realm(qbo: Qbo) -> None:
    qbo.control("limits", {"concurrent": 1})
    qbo.control("faults", {"probability": 1.0, "kinds": ["slow"], "slow_seconds": 0.6})
    slow = threading.Thread(target=qbo.get, args=("preferences",))
    slow.start()
    time.sleep(0.2)
    try:
        _throttled(qbo.get("preferences"))
        other = qbo.control("realms")["realm_id"]
        token = qbo.control("token", {"realm_id": other})["access_token"]
        qbo.control("faults", {"probability": 0.0})
        assert requests.get(qbo.url("preferences", realm_id=other), headers=qbo.headers(token), timeout=10).ok
    finally:
        slow.join()
    assert qbo.get("preferences").status_code == 200


def test_limits_are_reported_by_info(qbo: Qbo) -> None:
    qbo.control("limits", {"requests_per_window": 7})
    info = requests.get(f"{qbo.base_url}/_sandbox/info", timeout=10).json()
    assert info["limits"] == {"requests_per_window": 7, "window_seconds": 60.0, "concurrent": 10,
                              "batch_per_window": 40}
