"""Answers as ``requests`` hands them over, for the fake transports of the unit tests."""

from __future__ import annotations

import json
from typing import Any

import requests


def response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> requests.Response:
    """A JSON answer with this status, body and headers."""
    answer = requests.Response()
    answer.status_code = status
    answer._content = json.dumps(body if body is not None else {}).encode()
    answer.headers["Content-Type"] = "application/json"
    answer.headers.update(headers or {})
    return answer
