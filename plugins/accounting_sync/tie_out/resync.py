"""Re-sync: write the Invoiced version of a document again, after a tie-out found
QuickBooks differing (someone edited it there), or after a VAT/GST tax code picked on the
Configure page changed what its lines should carry. Invoiced masters what qbo_sync writes.

The document is queued the way a failed record is (the next qbo_sync reads it by id) and
its written hash replaced by one no payload has, so that run updates it even though
Invoiced did not change; a stale SyncToken is re-read by the writer as usual.
"""

from __future__ import annotations

from dataclasses import replace

from accounting_sync.common.flows import SYNC
from accounting_sync.store.facade import StateStore
from accounting_sync.store.idmap import ORIGIN_INVOICED

RESYNC = "resync-requested"


def request_resync(
    store: StateStore, scope: str, invoiced_id: str, document: str, user: str, kind: str = "invoice"
) -> bool:
    """Queue one invoice (or credit note) Invoiced masters; False when the id map has no
    such document, or only one voided in QuickBooks."""
    mapped = store.get_mapping(scope, kind, invoiced_id)
    if mapped is None or mapped.origin != ORIGIN_INVOICED or mapped.content_hash == "voided":
        return False
    store.put_mappings(scope, kind, [replace(mapped, content_hash=RESYNC)])
    store.record_error(
        scope, SYNC.name, kind, invoiced_id, message=f"Re-sync requested by {user}",
        document_number=document, code="resync_requested", hint="The next qbo_sync run writes it again.",
    )
    return True


def resync_tax_rate(store: StateStore, scope: str, rate_id: str, code: str, user: str) -> list[tuple[str, str]]:
    """Queue the documents whose lines carry the Invoiced rate ``rate_id`` on another code
    than ``code``, so the next run writes them with the mapping as it is now; returns the
    queued ones as (kind, document number)."""
    documents = {(row.object_type, row.invoiced_id): row.document_number or row.invoiced_id
                 for row in store.written_with(scope, [rate_id]) if row.code_name != code}
    return [(kind, document) for (kind, invoiced_id), document in sorted(documents.items())
            if request_resync(store, scope, invoiced_id, document, user, kind)]
