"""HTTP client the Invoiced sandbox tests use."""

from __future__ import annotations

from typing import Any

import requests


class InvoicedClient:
    """Thin HTTP client: Basic auth with the key as username, JSON bodies."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.session = requests.Session()
        self.session.auth = (api_key, "")

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """``path`` is relative to the sandbox, or a full URL such as a Link header entry."""
        kwargs.setdefault("timeout", 10)
        url = path if path.startswith("http") else self.base_url + path
        return self.session.request(method, url, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST that must succeed; returns the created object."""
        response = self.post(path, json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def control(self, path: str, body: Any = None) -> Any:
        response = requests.post(f"{self.base_url}/_sandbox/{path}", json=body, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()
