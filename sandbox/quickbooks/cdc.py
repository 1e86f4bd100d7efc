"""Change data capture: `GET /cdc?entities=Invoice,Customer&changedSince=<ISO time or date>`.

What Intuit documents (ChangeDataCapture reference and learn page, sandbox/README.md): every
object of the listed types changed since the moment, grouped by type and ordered by
`LastUpdatedTime` within a type, deleted objects after the active ones as tombstones
(`{"domain", "status": "Deleted", "Id", "MetaData": {"LastUpdatedTime"}}`); a look-back of
at most 30 days; at most 1,000 objects per answer, the rest silently left out (no paging:
"the response may contain fewer objects than the total"). Voids are ordinary changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from sandbox.quickbooks import clock, errors
from sandbox.quickbooks.config import SandboxConfig
from sandbox.quickbooks.schema import spec_for_name
from sandbox.quickbooks.store import Obj, Realm

UNSUPPORTED = frozenset({"JournalCode", "TaxAgency", "TimeActivity", "TaxCode", "TaxRate"})
"""Types CDC does not cover (Intuit's ChangeDataCapture reference)."""


def entity_names(entities: str) -> list[str]:
    """The requested types by their canonical names, in the order QBO answers them
    (alphabetical: the documented sample asks `estimate,customer` and gets Customer first)."""
    names: set[str] = set()
    for requested in (part.strip() for part in entities.split(",") if part.strip()):
        spec = spec_for_name(requested)
        if spec is None or spec.name in UNSUPPORTED:
            raise errors.unsupported_operation(f"cdc for {requested}")
        names.add(spec.name)
    if not names:
        raise errors.required_missing("entities")
    return sorted(names)


def changed_since(text: str, now: datetime, tz: tzinfo, lookback_days: int) -> datetime:
    """The look-back moment (a bare date is midnight company time); older than the window
    is refused as Intuit refuses it."""
    since = clock.parse_timestamp(text, tz) if text else None
    if since is None:
        raise errors.invalid_value("changedSince", text)
    if now - since > timedelta(days=lookback_days):
        raise errors.unsupported_operation(f"cdc with changedSince date {text} which is older than fixed days")
    return since


def _by_change_time(pairs: list[tuple[datetime, Obj]]) -> list[Obj]:
    return [row for _, row in sorted(pairs, key=lambda pair: pair[0])]


def _changed(realm: Realm, entity: str, since: datetime, tz: tzinfo) -> list[Obj]:
    """Active objects changed since the moment by change time, then the tombstones."""
    live, dead = [], []
    for row in realm.rows(entity):
        at = clock.parse_timestamp(row["MetaData"]["LastUpdatedTime"], tz)
        if at is not None and at >= since:
            live.append((at, row))
    for obj_id, stamp in realm.deleted[entity].items():
        at = clock.parse_timestamp(stamp, tz)
        if at is not None and at >= since:
            dead.append((at, {"domain": "QBO", "status": "Deleted", "Id": obj_id, "MetaData": {"LastUpdatedTime": stamp}}))
    return _by_change_time(live) + _by_change_time(dead)


def changes(realm: Realm, entities: str, since_text: str, company: clock.CompanyClock,
            config: SandboxConfig) -> dict[str, Any]:
    """The `CDCResponse` of one request (the route adds `time`). Past the object cap the
    answer is cut without a sign (`totalCount` counts what is returned, as recorded answers
    show); the cap is shared by all types unless `cdc_cap_per_entity`."""
    names = entity_names(entities)
    since = changed_since(since_text, company.now(), company.tz, config.cdc_lookback_days)
    budget = config.cdc_max_objects
    answers: list[Obj] = []
    with realm.lock:
        for name in names:
            cap = config.cdc_max_objects if config.cdc_cap_per_entity else budget
            objects = _changed(realm, name, since, company.tz)[:cap]
            budget -= len(objects)
            count = len(objects)
            answers.append({name: objects, "startPosition": 1, "maxResults": count, "totalCount": count} if objects else {})
    if not any(answers):
        answers = [{}]  # "no changes": one empty QueryResponse, as Intuit's learn page shows
    return {"CDCResponse": [{"QueryResponse": answers}]}
