"""The write journal: a QuickBooks batch is recorded before it is sent and dropped once its
answer is applied, so a crash in between is replayed with the same requestid."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from accounting_sync.store.schema import Repository, WriteIntent


class JournalRepository(Repository):
    def add_intent(self, company: str, request_id: str, phase: str, payload: dict[str, Any]) -> None:
        with self.session() as session:
            if session.scalar(select(WriteIntent.id).where(WriteIntent.request_id == request_id)) is None:
                session.add(WriteIntent(company_key=company, request_id=request_id, phase=phase, payload=payload))

    def pending_intents(self, company: str, phase: str | None = None) -> list[WriteIntent]:
        query = select(WriteIntent).where(WriteIntent.company_key == company)
        if phase is not None:
            query = query.where(WriteIntent.phase == phase)
        with self.session() as session:
            return list(session.scalars(query.order_by(WriteIntent.id)))

    def drop_intent(self, request_id: str) -> None:
        with self.session() as session:
            session.execute(delete(WriteIntent).where(WriteIntent.request_id == request_id))
