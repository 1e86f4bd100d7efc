"""Leases: named locks with an expiry, so a crashed holder cannot block forever."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from accounting_sync.common.values import aware, utcnow
from accounting_sync.store.schema import Lease, Repository


class LeaseHeld(RuntimeError):
    """Another run holds the lease; the caller should retry later."""



class LeaseRepository(Repository):
    def acquire_lease(
        self, company: str, name: str, holder: str, ttl: timedelta, takeover_prefix: str | None = None
    ) -> bool:
        """Take the lease if it is free, expired, already ours, or held by a holder whose
        name starts with ``takeover_prefix`` (an earlier run of the same DAG: with
        max_active_runs=1 that run is over, so its worker died holding the lease)."""
        now = utcnow()
        try:
            with self.session() as session:
                query = select(Lease).where(Lease.company_key == company, Lease.name == name)
                if self.is_postgres:
                    query = query.with_for_update()
                row = session.scalar(query)
                if row is None:
                    session.add(Lease(company_key=company, name=name, holder=holder, expires_at=now + ttl))
                    return True
                stale = aware(row.expires_at) <= now or bool(takeover_prefix and row.holder.startswith(takeover_prefix))
                if row.holder != holder and not stale:
                    return False
                row.holder, row.expires_at = holder, now + ttl
                return True
        except IntegrityError:
            return False  # another process created the row first

    def release_lease(self, company: str, name: str, holder: str) -> None:
        with self.session() as session:
            session.execute(
                delete(Lease).where(Lease.company_key == company, Lease.name == name, Lease.holder == holder)
            )

    @contextmanager
    def lease(self, company: str, name: str, holder: str, ttl: timedelta) -> Iterator[None]:
        """Hold the lease for the block. Holders are named ``<dag_id>/<run_id>``, so a later
        run of the same DAG takes over a lease its crashed predecessor left behind."""
        takeover = holder.split("/", 1)[0] + "/" if "/" in holder else None
        if not self.acquire_lease(company, name, holder, ttl, takeover):
            raise LeaseHeld(f"another run holds the {name!r} lock for company {company!r}")
        try:
            yield
        finally:
            self.release_lease(company, name, holder)
