"""A thin client for the QBO sandbox tests: raw HTTP, so the tests see exactly what QBO answers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from sandbox.quickbooks.state import SandboxState

Json = dict[str, Any]
ServerFactory = Callable[..., tuple[str, SandboxState]]
"""`start_server(**config)` -> (base_url, state) of a dedicated server for one test."""


@dataclass
class Qbo:
    """One test's view of a running sandbox: base URL, realm, bearer token and the server state."""

    base_url: str
    realm_id: str
    access_token: str
    refresh_token: str
    state: SandboxState
    session: requests.Session = field(default_factory=requests.Session)

    def url(self, path: str, realm_id: str | None = None) -> str:
        return f"{self.base_url}/v3/company/{realm_id or self.realm_id}/{path}"

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.access_token}", "Accept": "application/json"}

    def get(self, path: str, token: str | None = None, **params: Any) -> requests.Response:
        return self.session.get(self.url(path), params=params, headers=self.headers(token), timeout=10)

    def post(self, path: str, body: Any = None, timeout: float = 10, **params: Any) -> requests.Response:
        return self.session.post(self.url(path), json=body, params=params, headers=self.headers(), timeout=timeout)

    def query(self, text: str) -> Json:
        response = self.get("query", query=text)
        assert response.status_code == 200, response.text
        result: Json = response.json()["QueryResponse"]
        return result

    def count(self, text: str) -> int:
        return int(self.query(text)["totalCount"])

    def create(self, entity: str, body: Json, **params: Any) -> Json:
        response = self.post(entity.lower(), body, **params)
        assert response.status_code == 200, response.text
        created: Json = response.json()[entity]
        return created

    def read(self, entity: str, obj_id: str) -> Json:
        response = self.get(f"{entity.lower()}/{obj_id}")
        assert response.status_code == 200, response.text
        found: Json = response.json()[entity]
        return found

    def control(self, path: str, body: Any = None) -> Json:
        response = self.session.post(f"{self.base_url}/_sandbox/{path}", json=body, timeout=10)
        assert response.status_code == 200, response.text
        result: Json = response.json()
        return result


REDIRECT = "http://127.0.0.1:9/callback"


def browser_consent(authorize_url: str) -> dict[str, str]:
    """Do what the user's browser does: load the consent page and click Authorize."""
    page = requests.get(authorize_url, timeout=10).text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    base = authorize_url.split("/connect/")[0]
    response = requests.post(f"{base}/connect/oauth2", data={**fields, "decision": "allow"},
                             allow_redirects=False, timeout=10)
    return {key: values[0] for key, values in parse_qs(urlsplit(response.headers["location"]).query).items()}


def fault(response: requests.Response, status: int = 400) -> Json:
    """The single error of a `Fault` answer, after checking the HTTP status."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"Fault", "time"}, body
    assert len(body["Fault"]["Error"]) == 1
    error: Json = body["Fault"]["Error"][0]
    return error


def customer(qbo: Qbo, name: str = "Acme Corp", **fields: Any) -> Json:
    return qbo.create("Customer", {"DisplayName": name, **fields})


def income_account(qbo: Qbo) -> str:
    return str(qbo.query("SELECT * FROM Account WHERE AccountSubType = 'ServiceFeeIncome'")["Account"][0]["Id"])


def item(qbo: Qbo, name: str = "Consulting", price: float = 100, **fields: Any) -> Json:
    body = {"Name": name, "Type": "Service", "UnitPrice": price, "IncomeAccountRef": {"value": income_account(qbo)}}
    return qbo.create("Item", {**body, **fields})


def sales_line(item_id: str, amount: float, qty: float = 1, **extra: Any) -> Json:
    detail = {"ItemRef": {"value": item_id}, "Qty": qty, "UnitPrice": round(amount / qty, 2), **extra}
    return {"DetailType": "SalesItemLineDetail", "Amount": amount, "SalesItemLineDetail": detail}


def invoice_body(customer_id: str, item_id: str, amount: float = 300.0, **fields: Any) -> Json:
    return {"CustomerRef": {"value": customer_id}, "Line": [sales_line(item_id, amount)], **fields}


def invoice(qbo: Qbo, customer_id: str, item_id: str, amount: float = 300.0, **fields: Any) -> Json:
    return qbo.create("Invoice", invoice_body(customer_id, item_id, amount, **fields))


def payment(qbo: Qbo, customer_id: str, total: float, links: list[tuple[str, str, float]], **fields: Any) -> Json:
    lines = [{"Amount": value, "LinkedTxn": [{"TxnId": txn_id, "TxnType": txn_type}]}
             for txn_type, txn_id, value in links]
    return qbo.create("Payment", {"CustomerRef": {"value": customer_id}, "TotalAmt": total, "Line": lines, **fields})
