"""The audit trail of the Accounting Sync pages: who connected, disconnected, chose a
sync state, changed a setting or drove a run, for which company and when.

Retry and Ignore of failing records are changes too. Each change is kept in the state store (the Connection page shows the latest) and logged
on ``accounting_sync.audit``, so a deployment can ship it with its other audit logs.
Details name companies, settings and runs, never a token or a secret.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

from accounting_sync.common.values import aware
from accounting_sync.config.companies import Company
from accounting_sync.store.facade import StateStore
from accounting_sync.store.schema import AuditEvent
from accounting_sync.ui.security import user_id
from accounting_sync.ui.settings_form import LABELS

log = logging.getLogger("accounting_sync.audit")

# action -> (what the Connection page calls it, how its details read)
ACTIONS: dict[str, tuple[str, str]] = {
    "connect": ("Connected QuickBooks", "QuickBooks company {realm_id}{previous}"),
    "disconnect": ("Disconnected QuickBooks", "QuickBooks company {realm_id}"),
    "state_afresh": ("Chose the connected company", "sync state of QuickBooks company {realm_id} ({state})"),
    "same_invoiced": ("Kept the state for a new Invoiced API key", "same Invoiced account, confirmed"),
    "settings": ("Changed settings", "{changes}"),
    "sync_now": ("Started a run", "{dag_id}: {run_id}"),
    "auto_sync": ("Changed auto-sync", "{dag_id}: {state}"),
    "ignore": ("Ignored a failing record", "{object_type} {document} ({flow})"),
    "retry": ("Queued a failing record again", "{object_type} {document} ({flow})"),
    "resync": ("Re-synced a record the tie-out found differing", "{object_type} {document} ({flow})"),
    "rewrite_tax_code": ("Queued synced documents for a new tax code", "{count} carrying {rate}, to go on {code}: {documents}"),
}
TRAIL_LENGTH = 10


@dataclass(frozen=True)
class Change:
    at: datetime | None
    user: str
    label: str
    summary: str


def record(store: StateStore, company: Company, user: BaseUser, action: str, **detail: Any) -> None:
    store.record_audit(company.key, user_id(user), user.get_name(), action, detail)
    log.info("%s by %s for company %s: %s", action, user.get_name(), company.key, detail)


def record_settings(
    store: StateStore, company: Company, user: BaseUser, before: dict[str, Any], after: dict[str, Any]
) -> None:
    """Settings saved from the form, as the form shows them (old and new value of each
    field that changed); saving the same values again is not a change."""
    changes = {key: [before.get(key), value] for key, value in after.items() if before.get(key) != value}
    if changes:
        record(store, company, user, "settings", changes=changes)


def recent_changes(store: StateStore, company: Company) -> list[Change]:
    return [_change(event) for event in store.audit_trail(company.key, TRAIL_LENGTH)]


def _change(event: AuditEvent) -> Change:
    label, template = ACTIONS.get(event.action, (event.action, ""))
    detail = dict(event.detail or {})
    words = {
        "previous": f" (was {detail['previous_realm_id']})" if detail.get("previous_realm_id") else "",
        "changes": "; ".join(
            f"{LABELS.get(key, key.replace('_', ' '))}: {old!r} → {new!r}"
            for key, (old, new) in sorted(detail.get("changes", {}).items())
        ),
    }
    try:
        summary = template.format_map({**detail, **words})
    except (KeyError, ValueError):
        summary = ", ".join(f"{key}: {value}" for key, value in sorted(detail.items()))
    return Change(aware(event.at), event.user_name, label, summary)
