"""Runs and errors: what each run did, and the latest failure of every record."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update

from accounting_sync.common.values import chunked, utcnow
from accounting_sync.store.schema import IN_CHUNK, IgnoredRecord, RecordError, Repository, SyncRun


class RunRepository(Repository):
    def start_run(self, company: str, dag_id: str, run_id: str, dry_run: bool = False) -> None:
        with self.session() as session:
            row = SyncRun.of_run(session, company, dag_id, run_id)
            if row is None:
                session.add(SyncRun(company_key=company, dag_id=dag_id, run_id=run_id, dry_run=dry_run))
            else:
                row.state, row.finished_at, row.dry_run = "running", None, dry_run

    def finish_run(
        self, company: str, dag_id: str, run_id: str, state: str, counts: dict[str, Any], summary: str
    ) -> None:
        with self.session() as session:
            row = SyncRun.of_run(session, company, dag_id, run_id)
            if row is None:
                row = SyncRun(company_key=company, dag_id=dag_id, run_id=run_id)
                session.add(row)
            row.state, row.counts, row.summary, row.finished_at = state, counts, summary, utcnow()

    def recent_runs(self, company: str, limit: int = 20, dag_ids: Iterable[str] | None = None) -> list[SyncRun]:
        query = select(SyncRun).where(SyncRun.company_key == company)
        if dag_ids is not None:
            query = query.where(SyncRun.dag_id.in_(list(dag_ids)))
        with self.session() as session:
            return list(session.scalars(query.order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(limit)))

    def record_error(
        self,
        company: str,
        flow: str,
        object_type: str,
        source_id: str,
        *,
        message: str,
        document_number: str | None = None,
        code: str | None = None,
        hint: str | None = None,
        run_id: str | None = None,
    ) -> None:
        """Record (or refresh) the failure of one record; attempts count the tries."""
        with self.session() as session:
            row = session.scalar(
                select(RecordError).where(
                    RecordError.company_key == company,
                    RecordError.flow == flow,
                    RecordError.object_type == object_type,
                    RecordError.source_id == str(source_id),
                )
            )
            if row is None:
                session.add(
                    RecordError(
                        company_key=company,
                        flow=flow,
                        object_type=object_type,
                        source_id=str(source_id),
                        document_number=document_number,
                        code=code,
                        message=message,
                        hint=hint,
                        last_run_id=run_id,
                    )
                )
                return
            row.attempts = 1 if row.resolved else row.attempts + 1
            row.document_number, row.code, row.message, row.hint = document_number, code, message, hint
            row.last_seen, row.last_run_id, row.resolved, row.resolved_at = utcnow(), run_id, False, None

    def resolve_errors(self, company: str, flow: str, object_type: str, source_ids: Iterable[str]) -> None:
        ids = [str(i) for i in source_ids]
        with self.session() as session:
            for chunk in chunked(ids, IN_CHUNK):
                session.execute(
                    update(RecordError)
                    .where(
                        RecordError.company_key == company,
                        RecordError.flow == flow,
                        RecordError.object_type == object_type,
                        RecordError.source_id.in_(chunk),
                        RecordError.resolved.is_(False),
                    )
                    .values(resolved=True, resolved_at=utcnow())
                )

    def open_errors(self, company: str, flow: str | None = None, run_id: str | None = None) -> list[RecordError]:
        query = select(RecordError).where(RecordError.company_key == company, RecordError.resolved.is_(False))
        if flow is not None:
            query = query.where(RecordError.flow == flow)
        if run_id is not None:
            query = query.where(RecordError.last_run_id == run_id)
        with self.session() as session:
            return list(session.scalars(query.order_by(RecordError.object_type, RecordError.source_id)))

    def errors_for_run(self, company: str, flow: str, run_id: str) -> list[RecordError]:
        """The errors a run left, resolved since or not (Recent Syncs shows each run's)."""
        query = select(RecordError).where(
            RecordError.company_key == company, RecordError.flow == flow, RecordError.last_run_id == run_id
        )
        with self.session() as session:
            return list(session.scalars(query.order_by(RecordError.object_type, RecordError.source_id)))

    def unresolved_source_ids(self, company: str, flow: str, object_type: str) -> set[str]:
        """The failed records the next run retries: every unresolved one not ignored."""
        with self.session() as session:
            failing = set(
                session.scalars(
                    select(RecordError.source_id).where(
                        RecordError.company_key == company,
                        RecordError.flow == flow,
                        RecordError.object_type == object_type,
                        RecordError.resolved.is_(False),
                    )
                )
            )
        return failing - self.ignored_ids(company, flow, object_type)

    # -- Ignore and Retry ------------------------------------------------------------------

    def ignore_record(self, company: str, flow: str, object_type: str, source_id: str, user: str) -> None:
        with self.session() as session:
            session.merge(
                IgnoredRecord(
                    company_key=company, flow=flow, object_type=object_type, source_id=source_id,
                    ignored_by=user, ignored_at=utcnow(),
                )
            )

    def unignore_records(self, company: str, flow: str, object_type: str, source_ids: Iterable[str]) -> int:
        """Retry pressed, or the records changed at their source: retried from now on."""
        removed = 0
        with self.session() as session:
            for chunk in chunked([str(i) for i in source_ids], IN_CHUNK):
                result = session.execute(
                    delete(IgnoredRecord).where(
                        IgnoredRecord.company_key == company,
                        IgnoredRecord.flow == flow,
                        IgnoredRecord.object_type == object_type,
                        IgnoredRecord.source_id.in_(chunk),
                    )
                )
                removed += cast(CursorResult[Any], result).rowcount
        return removed

    def ignored_records(self, company: str, flow: str | None = None) -> dict[tuple[str, str, str], IgnoredRecord]:
        """(flow, object type, source id) -> who ignored it and when."""
        query = select(IgnoredRecord).where(IgnoredRecord.company_key == company)
        if flow is not None:
            query = query.where(IgnoredRecord.flow == flow)
        with self.session() as session:
            return {(row.flow, row.object_type, row.source_id): row for row in session.scalars(query)}

    def ignored_ids(self, company: str, flow: str, object_type: str) -> set[str]:
        return {key[2] for key in self.ignored_records(company, flow) if key[1] == object_type}

    def failing_records(self, company: str, limit: int = 200) -> list[RecordError]:
        """Every record still failing, in both flows, the most recently failed first."""
        query = select(RecordError).where(RecordError.company_key == company, RecordError.resolved.is_(False))
        with self.session() as session:
            return list(session.scalars(query.order_by(RecordError.last_seen.desc(), RecordError.id.desc()).limit(limit)))

    def find_error(self, company: str, flow: str, object_type: str, source_id: str) -> RecordError | None:
        with self.session() as session:
            return session.scalar(
                select(RecordError).where(
                    RecordError.company_key == company,
                    RecordError.flow == flow,
                    RecordError.object_type == object_type,
                    RecordError.source_id == source_id,
                )
            )
