"""Request bodies: JSON objects, or form-encoded with ``items[0][name]=...`` brackets.

The service accepts both encodings; the official clients send JSON.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from sandbox.invoiced.errors import invalid
from sandbox.invoiced.listing import split_bracketed


def _listify(node: Any) -> Any:
    """Dicts keyed 0..n (or by ``[]`` appends) become lists, recursively."""
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def nest_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """PHP-style nesting of bracketed form keys."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        name, path = split_bracketed(key)
        keys = [name, *path]
        node = root
        for position, part in enumerate(keys):
            last = position == len(keys) - 1
            if part == "":
                part = str(len(node))
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    result: dict[str, Any] = _listify(root)
    return result


def decode_body(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    if "application/x-www-form-urlencoded" in content_type:
        return nest_form(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise invalid("The request body could not be parsed as JSON.", "request") from exc
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.", "request")
    return body
