"""What a webhook delivery says changed, read from the bodies Invoiced and Intuit send.

Both carry ids, not records: the DAG run reads the records itself, so the events only say
that a company has changes waiting and are kept for the record (and duplicates).

- Invoiced: one event per delivery, ``{"id", "type": "invoice.created", "timestamp",
  "data": {"object": {...}}}``.
- Intuit, CloudEvents (mandatory since 2026): a JSON array of ``{"id", "type":
  "qbo.invoice.created.v1", "time", "intuitentityid", "intuitaccountid"}``; one delivery
  may mix companies (realms).
- Intuit, legacy: ``{"eventNotifications": [{"realmId", "dataChangeEvent": {"entities":
  [{"name", "id", "operation", "lastUpdated"}]}}]}``. It has no event id, so one is made
  from what identifies the change (a redelivery carries the same values).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

LEGACY_OPERATIONS = {"create": "created", "update": "updated", "delete": "deleted", "merge": "merged",
                     "void": "voided", "emailed": "emailed"}


class PayloadInvalid(ValueError):
    """A signed body that is not the shape the sender documents; the message says where."""


@dataclass(frozen=True)
class Change:
    event_id: str
    entity_type: str
    entity_id: str
    operation: str
    occurred_at: datetime | None
    realm_id: str | None = None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise PayloadInvalid("the body is not JSON") from None


def _time(value: Any) -> datetime | None:
    """UNIX seconds (Invoiced) or an ISO 8601 time (Intuit, with nanoseconds); None if neither."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, str) and value:
        text = value.replace("Z", "+00:00")
        if "." in text:  # Python reads at most microseconds
            head, _, tail = text.partition(".")
            digits = "".join(c for c in tail if c.isdigit())
            text = f"{head}.{digits[:6]}{tail[len(digits):]}"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


def _text(event: dict[str, Any], key: str, where: str) -> str:
    value = event.get(key)
    if isinstance(value, int | str) and not isinstance(value, bool) and str(value):
        return str(value)
    raise PayloadInvalid(f"{where}: {key!r} is missing")


def invoiced_changes(body: bytes) -> list[Change]:
    event = _json(body)
    if not isinstance(event, dict):
        raise PayloadInvalid("an Invoiced event is a JSON object")
    entity, _, operation = _text(event, "type", "event").rpartition(".")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    entity_id = str(obj.get("id", "")) if isinstance(obj, dict) else ""
    return [Change(_text(event, "id", "event"), entity or "unknown", entity_id, operation, _time(event.get("timestamp")))]


def intuit_changes(body: bytes) -> list[Change]:
    payload = _json(body)
    if isinstance(payload, list):
        return [_cloud_event(event, n) for n, event in enumerate(payload)]
    if isinstance(payload, dict) and isinstance(payload.get("eventNotifications"), list):
        return _legacy(payload["eventNotifications"])
    raise PayloadInvalid("neither a CloudEvents array nor an eventNotifications object")


def _cloud_event(event: Any, n: int) -> Change:
    where = f"event {n}"
    if not isinstance(event, dict):
        raise PayloadInvalid(f"{where} is not an object")
    parts = _text(event, "type", where).split(".")  # qbo.<entity>.<operation>.v1
    if len(parts) < 3:
        raise PayloadInvalid(f"{where}: type {event['type']!r} is not qbo.<entity>.<operation>.<version>")
    return Change(
        event_id=_text(event, "id", where),
        entity_type=parts[1].lower(),
        entity_id=str(event.get("intuitentityid") or ""),
        operation=parts[2].lower(),
        occurred_at=_time(event.get("time")),
        realm_id=_text(event, "intuitaccountid", where),
    )


def _legacy(notifications: list[Any]) -> list[Change]:
    changes = []
    for n, notification in enumerate(notifications):
        if not isinstance(notification, dict):
            raise PayloadInvalid(f"notification {n} is not an object")
        realm = _text(notification, "realmId", f"notification {n}")
        entities = (notification.get("dataChangeEvent") or {}).get("entities") or []
        for entity in entities:
            name, entity_id = _text(entity, "name", realm), _text(entity, "id", realm)
            operation = str(entity.get("operation", "")).lower()
            updated = str(entity.get("lastUpdated", ""))
            identity = "|".join((realm, name, entity_id, operation, updated, str(entity.get("deletedId", ""))))
            changes.append(Change(
                event_id="legacy-" + hashlib.sha256(identity.encode()).hexdigest()[:40],
                entity_type=name.lower(),
                entity_id=entity_id,
                operation=LEGACY_OPERATIONS.get(operation, operation),
                occurred_at=_time(updated),
                realm_id=realm,
            ))
    return changes
