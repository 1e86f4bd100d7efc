"""QuickBooks reference data kept for a while: the company's preferences and the ids of
the accounts and tax code the sync writes with. Intuit meters reads and advises a cache
with a lifetime instead of a read on every run; a write refused for a stale reference
drops the company's entries (``forget_reads``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from accounting_sync.common.values import aware, utcnow
from accounting_sync.store.schema import ReadCache, Repository


class ReadCacheRepository(Repository):
    def cached_read(self, company: str, key: str, max_age: timedelta) -> Any | None:
        """The value kept under ``key``, or None when there is none younger than ``max_age``."""
        with self.session() as session:
            row = session.get(ReadCache, (company, key))
            if row is None or utcnow() - aware(row.fetched_at) >= max_age:
                return None
            return row.value.get("v")

    def cache_read(self, company: str, key: str, value: Any) -> None:
        with self.session() as session:
            session.merge(ReadCache(company_key=company, key=key, value={"v": value}, fetched_at=utcnow()))

    def forget_reads(self, company: str) -> None:
        with self.session() as session:
            session.execute(delete(ReadCache).where(ReadCache.company_key == company))
