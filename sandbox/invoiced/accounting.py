"""Imported-record marks: ``accounting_system`` + ``accounting_id`` on writes.

The service keeps these as mapping rows beside the record (never in its JSON) and exposes
them only through ``GET /<objects>/:id/accounting_sync_status``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.invoiced.errors import invalid
from sandbox.invoiced.models import AccountingMark
from sandbox.invoiced.records import Mapping
from sandbox.invoiced.store import Store

INTEGRATIONS = frozenset(
    {
        "avalara",
        "business_central",
        "chartmogul",
        "custom",
        "earth_class_mail",
        "freshbooks",
        "hubspot",
        "intacct",
        "lob",
        "netsuite",
        "quickbooks_desktop",
        "quickbooks_online",
        "sage_accounting",
        "service_now",
        "slack",
        "twilio",
        "wave",
        "xero",
    }
)
ACCOUNTING_FIELDS = frozenset({"accounting_system", "accounting_id", "accounting_source"})
DEFAULT_SOURCE = "accounting_system"

LEGACY_METADATA_KEYS: dict[str, dict[str, str]] = {
    "invoice": {
        "intacct_invoice_id": "intacct",
        "netsuite_invoice_id": "netsuite",
        "netsuite_id": "netsuite",
        "quickbooks_invoice_id": "quickbooks_online",
        "xero_invoice_id": "xero",
    },
    "customer": {
        "intacct_customer_id": "intacct",
        "netsuite_customer_id": "netsuite",
        "netsuite_id": "netsuite",
        "quickbooks_customer_id": "quickbooks_online",
        "xero_customer_id": "xero",
    },
}


@dataclass(frozen=True)
class Mark:
    system: str
    accounting_id: str
    source: str


def parse_mark(data: AccountingMark) -> Mark | None:
    """Validate the mark before anything is written; both parts are needed for a mapping."""
    if data.accounting_system is None or data.accounting_id is None:
        return None
    if data.accounting_system not in INTEGRATIONS:
        raise invalid(f"No such integration: {data.accounting_system}")
    return Mark(data.accounting_system, data.accounting_id, data.accounting_source or DEFAULT_SOURCE)


def record_mark(store: Store, object_type: str, object_id: int, mark: Mark | None) -> None:
    """An existing mapping is never overwritten, as on the service."""
    key = (object_type, object_id)
    if mark is None or key in store.mappings:
        return
    now = store.now()
    store.mappings[key] = Mapping(mark.system, mark.accounting_id, mark.source, now, now)


def forget_mark(store: Store, object_type: str, object_id: int) -> None:
    store.mappings.pop((object_type, object_id), None)


def _legacy_mapping(object_type: str, metadata: dict[str, Any]) -> dict[str, Any] | None:
    """Older integrations kept the id in metadata; the last matching key wins."""
    found: dict[str, Any] | None = None
    for key, system in LEGACY_METADATA_KEYS.get(object_type, {}).items():
        if key in metadata:
            found = {
                "accounting_system": system,
                "accounting_id": metadata[key],
                "source": DEFAULT_SOURCE,
                "first_synced": None,
                "last_synced": None,
            }
    return found


def sync_status(store: Store, object_type: str, object_id: int, metadata: dict[str, Any]) -> dict[str, Any]:
    mapping = store.mappings.get((object_type, object_id))
    if mapping is not None:
        return {
            "synced": True,
            "error": None,
            "accounting_system": mapping.accounting_system,
            "accounting_id": mapping.accounting_id,
            "source": mapping.source,
            "first_synced": mapping.created_at,
            "last_synced": mapping.updated_at,
        }
    legacy = _legacy_mapping(object_type, metadata)
    if legacy is not None:
        return {"synced": True, "error": None, **legacy}
    return {"synced": False, "error": None}
