"""Authentication, error shapes and standard headers."""

from __future__ import annotations

import requests

from tests.integration.sandbox.invoiced.invoiced_client import InvoicedClient

MISSING_KEY = (
    "Missing API key! HINT: You can pass in your API key as the username parameter using HTTP Basic Auth."
)


def test_missing_key_is_401_with_hint(inv: InvoicedClient) -> None:
    response = requests.get(inv.base_url + "/customers", timeout=5)
    assert response.status_code == 401
    assert response.json() == {"type": "invalid_request", "message": MISSING_KEY}


def test_wrong_key_is_401_with_scrubbed_key(inv: InvoicedClient) -> None:
    response = requests.get(inv.base_url + "/customers", auth=("abcdefghijkl", ""), timeout=5)
    assert response.status_code == 401
    assert response.json()["message"] == "We could not authenticate you with the API Key: abc******jkl"


def test_password_means_company_username(inv: InvoicedClient) -> None:
    response = requests.get(inv.base_url + "/customers", auth=("acme", inv.api_key), timeout=5)
    assert response.status_code == 401
    assert response.json()["message"] == "We did not find an account matching the username: acme"


def test_api_responses_carry_service_headers(inv: InvoicedClient) -> None:
    response = inv.get("/customers")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache, no-store"
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Invoiced"'
    assert response.headers["Content-Type"] == "application/json"
    assert "WWW-Authenticate" not in inv.get("/customers", headers={"X-App-Version": "1"}).headers


def test_unknown_route_needs_auth_then_is_not_recognized(inv: InvoicedClient) -> None:
    assert requests.get(inv.base_url + "/foo", timeout=5).status_code == 401
    response = inv.get("/foo")
    assert response.status_code == 404
    assert response.json() == {"type": "invalid_request", "message": "Request was not recognized: GET /foo"}


def test_wrong_method_is_405(inv: InvoicedClient) -> None:
    response = inv.request("PUT", "/invoices")
    assert response.status_code == 405
    assert response.json()["message"] == "Method not allowed: PUT /invoices"


def test_missing_record_names_model_and_id(inv: InvoicedClient) -> None:
    assert inv.get("/invoices/999").json() == {
        "type": "invalid_request",
        "message": "Invoice was not found: 999",
    }
    assert inv.get("/credit_notes/5").json()["message"] == "Credit Note was not found: 5"
    assert inv.get("/tax_rates/vat").json()["message"] == "Tax Rate was not found: vat"
    assert inv.get("/invoices/abc").json()["message"] == "Request was not recognized: GET /invoices/abc"


def test_validation_error_names_param(inv: InvoicedClient) -> None:
    response = inv.post("/customers", json={"email": "not-an-email", "name": "X"})
    assert response.status_code == 400
    assert response.json() == {
        "type": "invalid_request",
        "message": "Email must be a valid email address",
        "param": "email",
    }
    assert inv.post("/customers", json={}).json() == {
        "type": "invalid_request",
        "message": "Name is missing",
        "param": "name",
    }


def test_create_is_201_and_delete_is_204(inv: InvoicedClient) -> None:
    response = inv.post("/customers", json={"name": "Temp"})
    assert response.status_code == 201
    deleted = inv.delete(f"/customers/{response.json()['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""


def test_output_keys_are_sorted(inv: InvoicedClient) -> None:
    text = inv.post("/customers", json={"name": "Sorted"}).text
    keys = list(inv.get("/customers").json()[0].keys())
    assert keys == sorted(keys)
    assert text.startswith('{"ach_gateway"')
