"""Declared request options, checked the way the service's ApiRouteRunner does.

A route that declares its query (or body) parameters runs them through Symfony's
OptionsResolver: an undeclared name, a value of the wrong type or a value outside the
allowed list is a 400 with ``param: "query"`` (or ``"request"``) and the resolver's message,
its double quotes turned into single ones. Routes that declare nothing take anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.invoiced.errors import ApiError
from sandbox.invoiced.listing import split_bracketed

_NUMERIC = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")


@dataclass(frozen=True)
class Option:
    """One declared parameter: the PHP types it may have and, optionally, its allowed values."""

    types: tuple[str, ...] | None = None
    allowed: tuple[str, ...] | None = None
    required: bool = False


ANY = Option()
Options = Mapping[str, Option]

# AbstractModelApiRoute::getBaseQueryParameters
MODEL_QUERY: Options = {
    "expand": Option(("string", "array")),
    "exclude": Option(("string", "array")),
    "include": Option(("string", "array")),
}
# AbstractListModelsApiRoute::getBaseQueryParameters
LIST_QUERY: Options = {
    **MODEL_QUERY,
    "per_page": Option(("int", "string")),
    "page": Option(("int", "string")),
    "sort": Option(("string",)),
    "paginate": Option(allowed=("offset", "none")),
    "filter": Option(("array",)),
    "advanced_filter": Option(("string",)),
}
# UpdatedFilterTrait::getUpdatedQueryParameters
UPDATED_QUERY: Options = {
    "updated_before": Option(("int", "string")),
    "updated_after": Option(("int", "string")),
}
# ListCustomersRoute
CUSTOMER_LIST_QUERY: Options = {
    **LIST_QUERY,
    **UPDATED_QUERY,
    "owner": ANY,
    "open_balance": ANY,
    "balance": ANY,
    "payment_source": ANY,
    "late_fee_schedule_id": ANY,
    "automation": Option(("numeric", "null")),
    "metadata": ANY,
}
# ListPaymentsRoute
PAYMENT_LIST_QUERY: Options = {
    **LIST_QUERY,
    **UPDATED_QUERY,
    "balance": Option(("string",)),
    "amount": Option(("string",)),
    "start_date": Option(("numeric",)),
    "end_date": Option(("numeric",)),
    "automation": Option(("numeric", "null")),
    "metadata": ANY,
}
# Create/EditCustomerRoute, CreatePaymentRoute; EditPaymentRoute adds `reconcile`;
# DeleteCustomerRoute declares an empty list.
WRITE_QUERY: Options = MODEL_QUERY
PAYMENT_EDIT_QUERY: Options = {**MODEL_QUERY, "reconcile": ANY}
NO_QUERY: Options = {}


def _payment_body(amount_required: bool) -> Options:
    text = Option(("string", "null"))
    listed = Option(("array", "null"))
    return {
        "amount": Option(("numeric",), required=amount_required),
        "currency": text,
        "customer": Option(("integer", "null")),
        "date": Option(("integer", "null")),
        "method": text,
        "reference": text,
        "source": text,
        "notes": text,
        "ach_sender_id": text,
        "attachments": listed,
        "applied_to": listed,
        "metadata": listed,
        "accounting_id": text,
        "accounting_system": text,
    }


# CreatePaymentRoute / EditPaymentRoute request parameters
PAYMENT_CREATE_BODY = _payment_body(amount_required=True)
PAYMENT_EDIT_BODY = _payment_body(amount_required=False)


def php_type(value: Any) -> str:
    """PHP's get_debug_type of a decoded JSON value (objects and lists are both arrays)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "array"


def _format_value(value: Any) -> str:
    """OptionsResolver::formatValue, before the quotes are swapped."""
    kind = php_type(value)
    if kind == "array":
        return "array"
    if kind == "string":
        return f'"{value}"'
    if kind in ("null", "bool"):
        return str(value).lower() if kind == "bool" else "null"
    if kind == "float" and float(value).is_integer():
        return str(int(value))
    return str(value)


def _has_type(value: Any, php: str) -> bool:
    kind = php_type(value)
    if php in ("int", "integer"):
        return kind == "int"
    if php == "numeric":
        return kind in ("int", "float") or (kind == "string" and bool(_NUMERIC.match(value)))
    if php == "float":
        return kind == "float"
    if php == "bool":
        return kind == "bool"
    return kind == php


def _refusal(message: str, param: str) -> ApiError:
    """ApiRouteRunner::validateInput: double quotes become single ones."""
    return ApiError(400, message.replace('"', "'"), param)


def resolve(values: Mapping[str, Any], defined: Options, param: str, types: bool = True) -> None:
    """Refuse what Symfony's OptionsResolver would refuse for these declared options
    (``types=False`` checks only names and required options)."""
    unknown = sorted(name for name in values if name not in defined)
    listed = '", "'.join(sorted(defined))
    if unknown:
        names = '", "'.join(unknown)
        which = f'The options "{names}" do not exist.' if len(unknown) > 1 else f'The option "{names}" does not exist.'
        raise _refusal(f'{which} Defined options are: "{listed}".', param)
    missing = sorted(name for name, option in defined.items() if option.required and name not in values)
    if missing:
        names = '", "'.join(missing)
        which = f'The required options "{names}" are missing.' if len(missing) > 1 else (
            f'The required option "{names}" is missing.'
        )
        raise _refusal(which, param)
    for name, option in defined.items():
        if not types or name not in values:
            continue
        value = values[name]
        if option.types is not None and not any(_has_type(value, php) for php in option.types):
            expected = '" or "'.join(option.types)
            raise _refusal(
                f'The option "{name}" with value {_format_value(value)} is expected to be of type '
                f'"{expected}", but is of type "{php_type(value)}".',
                param,
            )
        if option.allowed is not None and value not in option.allowed:
            accepted = ", ".join(_format_value(allowed) for allowed in option.allowed)
            raise _refusal(
                f'The option "{name}" with value {_format_value(value)} is invalid. Accepted values are: {accepted}.',
                param,
            )


def query_values(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """PHP's view of a query string: ``a[b]=c`` makes ``a`` an array, a repeated plain key keeps the last."""
    values: dict[str, Any] = {}
    for key, value in pairs:
        root, path = split_bracketed(key)
        if path:
            values[root] = values[root] if isinstance(values.get(root), dict) else {}
            values[root][path[0]] = value
        else:
            values[root] = value
    return values


def check_query(pairs: Sequence[tuple[str, str]], defined: Options) -> None:
    resolve(query_values(pairs), defined, "query")


def check_body(payload: Mapping[str, Any], defined: Options, types: bool = True) -> None:
    resolve(payload, defined, "request", types)
