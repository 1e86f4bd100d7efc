"""Staging: records handed from one task of a run to the next, instead of XCom payloads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import delete, insert, select

from accounting_sync.store.schema import Repository, StagedRecord

PAGE = 500  # rows written per transaction


class StagingRepository(Repository):
    def stage(self, company: str, run_key: str, stage: str, kind: str, records: Iterable[tuple[str, Any]]) -> int:
        """Store records for the next task; re-staging the same key replaces it."""
        count = 0
        batch: list[dict[str, Any]] = []
        for record_key, payload in records:
            batch.append(
                {
                    "company_key": company,
                    "run_key": run_key,
                    "stage": stage,
                    "kind": kind,
                    "record_key": str(record_key),
                    "payload": payload,
                }
            )
            if len(batch) >= PAGE:
                count += self._insert_staged(batch)
                batch = []
        if batch:
            count += self._insert_staged(batch)
        return count

    def _insert_staged(self, rows: list[dict[str, Any]]) -> int:
        with self.session() as session:
            first = rows[0]
            session.execute(
                delete(StagedRecord).where(
                    StagedRecord.company_key == first["company_key"],
                    StagedRecord.run_key == first["run_key"],
                    StagedRecord.stage == first["stage"],
                    StagedRecord.kind == first["kind"],
                    StagedRecord.record_key.in_([row["record_key"] for row in rows]),
                )
            )
            session.execute(insert(StagedRecord), rows)
        return len(rows)

    def staged(
        self, company: str, run_key: str, stage: str, kind: str, prefix: str | None = None
    ) -> Iterator[tuple[str, Any]]:
        """Stream staged records in key order, a page at a time (only keys starting with
        ``prefix`` when given)."""
        last = prefix or ""
        while True:
            query = (
                select(StagedRecord.record_key, StagedRecord.payload)
                .where(
                    StagedRecord.company_key == company,
                    StagedRecord.run_key == run_key,
                    StagedRecord.stage == stage,
                    StagedRecord.kind == kind,
                    StagedRecord.record_key > last,
                )
                .order_by(StagedRecord.record_key)
                .limit(1000)
            )
            if prefix:
                query = query.where(StagedRecord.record_key.startswith(prefix))
            with self.session() as session:
                rows = list(session.execute(query))
            if not rows:
                return
            yield from ((key, payload) for key, payload in rows)
            last = rows[-1][0]

    def clear_stage(self, company: str, run_key_prefix: str) -> None:
        """Drop staged records of the runs whose key starts with the prefix."""
        with self.session() as session:
            session.execute(
                delete(StagedRecord).where(
                    StagedRecord.company_key == company, StagedRecord.run_key.startswith(run_key_prefix)
                )
            )
