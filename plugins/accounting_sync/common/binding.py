"""Which QuickBooks company and Invoiced account a company's sync state belongs to.

The id map, cursors, write journal, setup cache, errors, settings and runs are true for
one pair only: a QBO id names nothing, or the wrong customer, item or account, in another
QBO company, and an Invoiced id names nothing in another Invoiced account. So every task
resolves the *scope* of the state it may use before it reads or writes anything, and a
connection that now points elsewhere holds the sync until a person chooses, on the
Connection page, to start afresh for the new pair or to reconnect the original one.
Nothing is deleted: an earlier pair's state comes back when that pair is bound again.

The QBO side is known exactly: every token carries its realm id. Invoiced has no
"who am I" endpoint, so an Invoiced account is recognised by a fingerprint of the
connection (base URL and key, hashed) and, when the key changes, by a few of the
account's own customers remembered as anchors (id and creation time, which never change):
a rotated key of the same account still finds them, another account does not.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from accounting_sync.config.connections import InvoicedConfig
from accounting_sync.invoiced.client import InvoicedClient, InvoicedError
from accounting_sync.quickbooks.oauth import QuickBooksNotConnected
from accounting_sync.store.bindings import StateHeld
from accounting_sync.store.facade import StateStore
from accounting_sync.store.schema import BindingHold, StateBinding

log = logging.getLogger(__name__)

QUICKBOOKS = "quickbooks"
INVOICED = "invoiced"
ANCHOR_COUNT = 3
NOT_CONNECTED = "QuickBooks is not connected: use Connect to QuickBooks in Accounting Sync"


@dataclass(frozen=True)
class Scope:
    """The state one run may use: its key in the state store and the QBO company it is for."""

    key: str
    realm_id: str


@dataclass(frozen=True)
class BindingStatus:
    """What the Connection page shows: the pair the state belongs to and any hold."""

    active: StateBinding | None
    holds: list[BindingHold]
    earlier: list[StateBinding]

    @property
    def held(self) -> bool:
        return bool(self.holds)

    def earlier_for(self, realm_id: str) -> StateBinding | None:
        """The most recent kept state of that QBO company, if it was ever bound."""
        return next((b for b in reversed(self.earlier) if b.realm_id == realm_id), None)


def invoiced_fingerprint(config: InvoicedConfig) -> str:
    """Who the Invoiced connection signs in as, without keeping its key."""
    raw = f"invoiced-account\0{config.api_base.rstrip('/')}\0{config.api_key}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def read_anchors(invoiced: InvoicedClient) -> dict[str, Any]:
    """A few customers of the account, to recognise it under another key later."""
    rows = invoiced.get("/customers", {"per_page": ANCHOR_COUNT})
    return {"customers": [{"id": row["id"], "created_at": row.get("created_at")} for row in rows[:ANCHOR_COUNT]]}


def anchors_found(invoiced: InvoicedClient, anchors: dict[str, Any]) -> bool | None:
    """True when a remembered customer is there as it was, False when none is, None when
    nothing was remembered (the account had no customers yet)."""
    remembered = anchors.get("customers") or []
    for anchor in remembered:
        try:
            row = invoiced.get(f"/customers/{anchor['id']}")
        except InvoicedError as error:
            if error.status == 404:
                continue
            raise
        if row.get("created_at") == anchor.get("created_at"):
            return True
    return False if remembered else None


def status(store: StateStore, company: str) -> BindingStatus:
    bindings = store.bindings(company)
    active = next((b for b in bindings if b.active), None)
    return BindingStatus(active, store.holds(company), [b for b in bindings if not b.active])


def active_scope_key(store: StateStore, company: str) -> str:
    """Where the company's state lives now (the company key until it is first bound)."""
    active = status(store, company).active
    return active.scope_key if active else company


def resolve(store: StateStore, company: str, realm_id: str | None, invoiced: InvoicedClient) -> Scope:
    """The scope a task may use, binding a company on its first run; raises
    ``StateHeld`` (and records why) when a connection points at another company."""
    if not realm_id:
        raise QuickBooksNotConnected(NOT_CONNECTED)
    current = status(store, company)
    fingerprint = invoiced_fingerprint(invoiced.config)
    active = current.active
    if active is None:
        active = store.add_binding(company, realm_id, fingerprint, read_anchors(invoiced))
        log.info("Sync state of company %r bound to QuickBooks company %s", company, realm_id)
        return Scope(active.scope_key, realm_id)
    check_quickbooks(store, company, realm_id, current)
    _check_invoiced(store, company, invoiced, fingerprint, active, current)
    return Scope(active.scope_key, realm_id)


def check_quickbooks(store: StateStore, company: str, realm_id: str, current: BindingStatus) -> None:
    """Hold when the stored token belongs to another QBO company than the state."""
    active = current.active
    if active is None or active.realm_id == realm_id:
        _clear(store, company, QUICKBOOKS, current)
        return
    message = (
        f"QuickBooks is connected to company {realm_id}, but this company's sync state (id map, "
        f"cursors, settings) belongs to QuickBooks company {active.realm_id}. The sync is held so "
        "that nothing is written with another company's ids: on the Accounting Sync Connection "
        "page, start afresh for the new company or reconnect the original one."
    )
    store.put_hold(company, QUICKBOOKS, realm_id, message)
    raise StateHeld(message)


def _check_invoiced(
    store: StateStore,
    company: str,
    invoiced: InvoicedClient,
    fingerprint: str,
    active: StateBinding,
    current: BindingStatus,
) -> None:
    if active.invoiced_fingerprint == fingerprint:
        _clear(store, company, INVOICED, current)
        if not active.invoiced_anchors.get("customers"):
            anchors = read_anchors(invoiced)
            if anchors["customers"]:
                store.update_binding(active.scope_key, invoiced_anchors=anchors)
        return
    found = anchors_found(invoiced, active.invoiced_anchors)
    if found or (found is None and not store.has_state(active.scope_key)):
        log.info("The Invoiced connection changed but reaches the same account: sync state kept")
        store.update_binding(active.scope_key, invoiced_fingerprint=fingerprint, invoiced_anchors=read_anchors(invoiced))
        _clear(store, company, INVOICED, current)
        return
    message = (
        "The Invoiced connection now reaches another Invoiced account than the one this company's "
        "sync state belongs to (none of the account's known customers is there). The sync is held: "
        "on the Accounting Sync Connection page, start afresh for the new account, confirm that it "
        "is the same account, or put the original API key back in the Invoiced connection."
    )
    store.put_hold(company, INVOICED, fingerprint, message)
    raise StateHeld(message)


def _clear(store: StateStore, company: str, side: str, current: BindingStatus) -> None:
    if any(hold.side == side for hold in current.holds):
        store.clear_hold(company, side)


def start_afresh(store: StateStore, company: str, realm_id: str, invoiced: InvoicedClient) -> tuple[Scope, bool]:
    """Bind the company to the pair connected now. An earlier state of the same pair comes
    back (True); otherwise the pair starts with empty state (False). Nothing is deleted."""
    fingerprint = invoiced_fingerprint(invoiced.config)
    for earlier in reversed(store.bindings(company)):
        if earlier.realm_id != realm_id:
            continue
        if earlier.invoiced_fingerprint == fingerprint or anchors_found(invoiced, earlier.invoiced_anchors):
            store.activate_binding(company, earlier.scope_key)
            store.update_binding(earlier.scope_key, invoiced_fingerprint=fingerprint)
            log.info("Company %r resumes its earlier sync state %r", company, earlier.scope_key)
            return Scope(earlier.scope_key, realm_id), True
    row = store.add_binding(company, realm_id, fingerprint, read_anchors(invoiced))
    log.info("Company %r starts afresh with sync state %r", company, row.scope_key)
    return Scope(row.scope_key, realm_id), False


def confirm_same_invoiced_account(store: StateStore, company: str, invoiced: InvoicedClient) -> None:
    """A person says the new Invoiced key reaches the same account: keep the state."""
    active = status(store, company).active
    if active is None:
        return
    store.update_binding(
        active.scope_key,
        invoiced_fingerprint=invoiced_fingerprint(invoiced.config),
        invoiced_anchors=read_anchors(invoiced),
    )
    store.clear_hold(company, INVOICED)
