"""Links from a tie-out difference to the record on Invoiced and in QuickBooks.

The bases come from the company's connections (the Invoiced API base, the QuickBooks
environment), the paths from ``include/mappings/links.yaml``. A connection the file does
not name, or one that cannot be read, gives no link: a broken one would be worse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from accounting_sync.config.companies import Company
from accounting_sync.config.connections import (
    ConnectionUnusable,
    invoiced_config,
    lookup_connection,
    quickbooks_config,
)
from accounting_sync.config.settings import load_yaml


@dataclass(frozen=True)
class RecordLinks:
    invoiced_base: str | None = None
    qbo_base: str | None = None
    invoiced_paths: dict[str, str] = field(default_factory=dict)
    qbo_paths: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, company: Company) -> RecordLinks:
        patterns = load_yaml("mappings/links.yaml")
        invoiced, quickbooks = patterns["invoiced"], patterns["quickbooks"]
        try:
            api_base = invoiced_config(lookup_connection(company.invoiced_conn_id)).api_base.rstrip("/")
        except ConnectionUnusable:
            api_base = ""
        try:
            environment = quickbooks_config(lookup_connection(company.quickbooks_conn_id)).environment
        except ConnectionUnusable:
            environment = "local"
        return cls(invoiced["dashboards"].get(api_base), quickbooks["apps"].get(environment),
                   dict(invoiced["records"]), dict(quickbooks["records"]))

    def invoiced(self, difference: dict[str, Any]) -> str | None:
        return _link(self.invoiced_base, self.invoiced_paths, difference, str(difference.get("invoiced_id") or ""))

    def qbo(self, difference: dict[str, Any]) -> str | None:
        """The QBO record; none for a payment qbo_import recorded of several QBO payments."""
        qbo_id = str(difference.get("qbo_id") or "")
        return None if "," in qbo_id else _link(self.qbo_base, self.qbo_paths, difference, qbo_id)


def _link(base: str | None, paths: dict[str, str], difference: dict[str, Any], record_id: str) -> str | None:
    path = paths.get(str(difference.get("object_type") or "invoice"))
    if not base or not path or not record_id:
        return None
    return base + path.format(id=quote(record_id, safe=""))
