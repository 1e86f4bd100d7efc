"""Tie-outs: the result of each run's comparison of the two ledgers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from accounting_sync.store.schema import Repository, TieOutRecord


class TieOutRepository(Repository):
    def save_tie_out(
        self, company: str, dag_id: str, run_id: str, started_at: datetime, full: bool, result: dict[str, Any],
        summary: str, unexplained: int,
    ) -> None:
        with self.session() as session:
            row = TieOutRecord.of_run(session, company, dag_id, run_id)
            if row is None:
                row = TieOutRecord(company_key=company, dag_id=dag_id, run_id=run_id)
                session.add(row)
            row.started_at, row.full, row.result, row.summary, row.unexplained = (
                started_at, full, result, summary, unexplained,
            )

    def tie_out_of_run(self, company: str, dag_id: str, run_id: str) -> TieOutRecord | None:
        with self.session() as session:
            return TieOutRecord.of_run(session, company, dag_id, run_id)

    def last_tie_out(self, company: str, full: bool = False) -> TieOutRecord | None:
        """The latest tie-out of the company (the latest full one with ``full``)."""
        query = select(TieOutRecord).where(TieOutRecord.company_key == company)
        if full:
            query = query.where(TieOutRecord.full.is_(True))
        with self.session() as session:
            return session.scalar(query.order_by(TieOutRecord.started_at.desc(), TieOutRecord.id.desc()).limit(1))
