"""Re-sync: write the Invoiced version of an invoice again, after a tie-out found
QuickBooks differing (someone edited it there). Invoiced masters what qbo_sync writes.

The invoice is queued the way a failed record is (the next qbo_sync reads it by id) and
its written hash replaced by one no payload has, so that run updates it even though
Invoiced did not change; a stale SyncToken is re-read by the writer as usual.
"""

from __future__ import annotations

from dataclasses import replace

from accounting_sync.common.flows import SYNC
from accounting_sync.store.facade import StateStore
from accounting_sync.store.idmap import ORIGIN_INVOICED

RESYNC = "resync-requested"


def request_resync(store: StateStore, scope: str, invoiced_id: str, document: str, user: str) -> bool:
    """Queue one invoice Invoiced masters; False when the id map has no such invoice."""
    mapped = store.get_mapping(scope, "invoice", invoiced_id)
    if mapped is None or mapped.origin != ORIGIN_INVOICED:
        return False
    store.put_mappings(scope, "invoice", [replace(mapped, content_hash=RESYNC)])
    store.record_error(
        scope, SYNC.name, "invoice", invoiced_id, message=f"Re-sync requested by {user}",
        document_number=document, code="resync_requested", hint="The next qbo_sync run writes it again.",
    )
    return True
