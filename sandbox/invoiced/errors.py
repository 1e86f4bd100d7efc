"""Invoiced-shaped errors and JSON responses.

Every failure leaves the sandbox as ``{"type", "message", "param"?}`` with the status
codes and wording of the real service, because client code branches on them.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from pydantic import ValidationError
from starlette.responses import JSONResponse

INTERNAL_ERROR_MESSAGE = (
    "There was an error processing your request. Our engineers have been notified and will be "
    "looking into it soon. If you would like help then you can reach us at support@invoiced.com."
    "\n\nCorrelation ID: {correlation_id}"
)


def error_type(status: int) -> str:
    """Map a status code to the service's error ``type`` (5xx is ``api_error``, not ``api``)."""
    if status >= 500:
        return "api_error"
    if status == 429:
        return "rate_limit_error"
    return "invalid_request"


class ApiError(Exception):
    """A request failure that becomes an Invoiced error body."""

    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": error_type(self.status), "message": self.message}
        if self.param:
            body["param"] = self.param
        return body


def invalid(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, message, param)


def not_found(model_title: str, ident: object) -> ApiError:
    return ApiError(404, f"{model_title} was not found: {ident}")


def internal_error() -> ApiError:
    return ApiError(500, INTERNAL_ERROR_MESSAGE.format(correlation_id=secrets.token_hex(8)))


class InvoicedJSONResponse(JSONResponse):
    """Compact JSON with alphabetically sorted keys, as the service's normalizer emits."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def error_response(error: ApiError) -> InvoicedJSONResponse:
    return InvoicedJSONResponse(error.body(), status_code=error.status)


def field_title(name: str) -> str:
    """Humanize a property name the way the ORM titles it in messages (``postal_code`` -> ``Postal code``)."""
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


_MESSAGES_BY_ERROR_TYPE = {
    "missing": "{title} is missing",
    "string_too_short": "{title} must be a string of the proper length",
    "string_too_long": "{title} must be a string of the proper length",
    "string_type": "{title} must be a string of the proper length",
    "literal_error": "{title} must be one of the allowed values",
    "enum": "{title} must be one of the allowed values",
    "bool_parsing": "{title} must be yes or no",
    "bool_type": "{title} must be yes or no",
    "decimal_parsing": "{title} only allows numbers",
    "decimal_type": "{title} only allows numbers",
    "float_parsing": "{title} only allows numbers",
    "float_type": "{title} only allows numbers",
}

TIMESTAMP_FIELDS = frozenset({"date", "due_date", "expiration_date", "now"})


def translate_validation_error(exc: ValidationError) -> ApiError:
    """Turn the first pydantic error into the ORM's validation message for that property."""
    first = exc.errors()[0]
    loc = [str(part) for part in first["loc"]]
    param = loc[0] if loc else None
    if first["type"] == "sandbox":
        return invalid(str(first["msg"]), param)
    field = next((part for part in reversed(loc) if not part.isdigit()), param or "value")
    title = field_title(field)
    if first["type"].startswith("int_") and field in TIMESTAMP_FIELDS:
        return invalid(f"{title} only allows timestamps", param)
    template = _MESSAGES_BY_ERROR_TYPE.get(first["type"], "{title} is invalid")
    return invalid(template.format(title=title), param)
