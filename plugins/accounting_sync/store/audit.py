"""The audit trail: every change made from the Accounting Sync pages, per company."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from accounting_sync.store.schema import AuditEvent, Repository


class AuditRepository(Repository):
    def record_audit(self, company: str, user_id: str, user_name: str, action: str, detail: dict[str, Any]) -> None:
        with self.session() as session:
            session.add(
                AuditEvent(company_key=company, user_id=user_id, user_name=user_name, action=action, detail=detail)
            )

    def audit_trail(self, company: str, limit: int = 20) -> list[AuditEvent]:
        """The newest changes first."""
        query = select(AuditEvent).where(AuditEvent.company_key == company)
        with self.session() as session:
            return list(session.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)))
