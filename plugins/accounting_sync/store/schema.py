"""The state store: everything the sync must remember between runs, keyed by company.

One module owns the schema. It runs on SQLite (``make run``) and PostgreSQL (compose).
Tables are created on first use and creation is safe to repeat; ``SCHEMA_VERSION``
records what is there so later releases can migrate forward.

Why a store of our own instead of Airflow Variables or XCom: tasks may not touch the
Airflow metadata DB, XCom is not meant for payloads, and the id map, the write journal
and the token rotation all need transactions and row locks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

SCHEMA_VERSION = 2  # 2: state bindings (which QBO company and Invoiced account a state belongs to)
ORIGIN_INVOICED = "invoiced"
ORIGIN_QUICKBOOKS = "quickbooks"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


class SchemaVersion(Base):
    __tablename__ = "schema_version"
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdMap(Base):
    """One row per synced record: which Invoiced record is which QBO record."""

    __tablename__ = "id_map"
    __table_args__ = (UniqueConstraint("company_key", "object_type", "invoiced_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    company_key: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    invoiced_id: Mapped[str] = mapped_column(String(64))
    qbo_id: Mapped[str] = mapped_column(String(64), index=True)
    sync_token: Mapped[str | None] = mapped_column(String(32))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SyncCursor(Base):
    __tablename__ = "sync_cursor"
    company_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SyncRun(Base):
    __tablename__ = "sync_run"
    __table_args__ = (UniqueConstraint("company_key", "dag_id", "run_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    company_key: Mapped[str] = mapped_column(String(64), index=True)
    dag_id: Mapped[str] = mapped_column(String(250))
    run_id: Mapped[str] = mapped_column(String(250))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(16), default="running")
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    summary: Mapped[str | None] = mapped_column(Text)


class RecordError(Base):
    """The latest failure of one record; resolved when the record later succeeds."""

    __tablename__ = "record_error"
    __table_args__ = (UniqueConstraint("company_key", "flow", "object_type", "source_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    company_key: Mapped[str] = mapped_column(String(64), index=True)
    flow: Mapped[str] = mapped_column(String(32))
    object_type: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(64))
    document_number: Mapped[str | None] = mapped_column(String(64))
    code: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    hint: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_run_id: Mapped[str | None] = mapped_column(String(250))
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    resolved_at: Mapped[datetime | None]


class Setting(Base):
    __tablename__ = "setting"
    company_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OAuthToken(Base):
    """Encrypted QuickBooks tokens. ``version`` increases on every rotation."""

    __tablename__ = "oauth_token"
    company_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    realm_id: Mapped[str | None] = mapped_column(String(64))
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None]
    refresh_expires_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="connected")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WriteIntent(Base):
    """The write journal: a request is recorded before it is sent and removed once its
    answer is applied, so a crash in between is replayed with the same QBO requestid."""

    __tablename__ = "write_intent"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    company_key: Mapped[str] = mapped_column(String(64), index=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    phase: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StagedRecord(Base):
    """Records handed from one task to the next (instead of XCom payloads)."""

    __tablename__ = "staged_record"
    company_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_key: Mapped[str] = mapped_column(String(250), primary_key=True)
    stage: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class Lease(Base):
    """A named lock with an expiry, so a crashed holder cannot block forever."""

    __tablename__ = "lease"
    company_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(250))
    expires_at: Mapped[datetime]


class StateBinding(Base):
    """Which QBO company (realm) and Invoiced account one set of sync state belongs to.

    Every table keyed by ``company_key`` except tokens and bindings holds the state of
    one binding: its ``scope_key``. A company has one active binding at a time; the
    others are kept, so reconnecting an earlier pair brings its state back."""

    __tablename__ = "state_binding"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    company_key: Mapped[str] = mapped_column(String(64), index=True)
    scope_key: Mapped[str] = mapped_column(String(64), unique=True)
    realm_id: Mapped[str] = mapped_column(String(64))
    invoiced_fingerprint: Mapped[str] = mapped_column(String(64))
    invoiced_anchors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BindingHold(Base):
    """Why a company's sync is held: a connection now points at another QBO company or
    Invoiced account than its state belongs to. Cleared when the user chooses."""

    __tablename__ = "binding_hold"
    company_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    side: Mapped[str] = mapped_column(String(16), primary_key=True)  # quickbooks | invoiced
    found: Mapped[str] = mapped_column(String(64))  # the realm id or Invoiced fingerprint now connected
    message: Mapped[str] = mapped_column(Text)
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)


class LeaseHeld(RuntimeError):
    """Another run holds the lease; the caller should retry later."""


class StateHeld(RuntimeError):
    """A connection points at another QBO company or Invoiced account than the company's
    sync state belongs to: nothing may be read into or written with that state until a
    person chooses on the Connection page."""


@dataclass(frozen=True)
class MappedRecord:
    invoiced_id: str
    qbo_id: str
    sync_token: str | None
    content_hash: str | None
    origin: str


def content_hash(payload: Any) -> str:
    """Stable hash of a JSON-able payload, to tell whether a record changed."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _configure_sqlite(engine: Engine) -> None:
    """Make SQLite behave: WAL, a busy timeout, and BEGIN IMMEDIATE so that every
    transaction takes the write lock up front (the SQLite equivalent of a row lock,
    and no deadlock when a reader later writes)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


class StateStore:
    """Typed access to the state tables. Every method is one short transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.migrate()

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def migrate(self) -> None:
        """Create missing tables and record the schema version; safe to repeat and to
        run from several processes at once."""
        Base.metadata.create_all(self.engine)
        with self.session() as session:
            if session.get(SchemaVersion, SCHEMA_VERSION) is None:
                session.merge(SchemaVersion(version=SCHEMA_VERSION))

    def schema_version(self) -> int:
        with self.session() as session:
            return int(session.scalar(select(func.max(SchemaVersion.version))) or 0)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    # -- id map -------------------------------------------------------------------------

    def get_mapping(self, company: str, object_type: str, invoiced_id: str) -> MappedRecord | None:
        return self.get_mappings(company, object_type, [invoiced_id]).get(str(invoiced_id))

    def get_mappings(
        self, company: str, object_type: str, invoiced_ids: Iterable[str] | None = None
    ) -> dict[str, MappedRecord]:
        """Mappings of one object type, all of them or only for the given ids."""
        query = select(IdMap).where(IdMap.company_key == company, IdMap.object_type == object_type)
        ids = None if invoiced_ids is None else [str(i) for i in invoiced_ids]
        result: dict[str, MappedRecord] = {}
        with self.session() as session:
            for chunk in _chunks(ids, 500) if ids is not None else [None]:
                chunk_query = query if chunk is None else query.where(IdMap.invoiced_id.in_(chunk))
                for row in session.scalars(chunk_query):
                    result[row.invoiced_id] = _mapped(row)
        return result

    def find_by_qbo_id(self, company: str, object_type: str, qbo_ids: Iterable[str]) -> dict[str, MappedRecord]:
        """Mappings keyed by QBO id (the first one when several Invoiced records merge)."""
        ids = [str(i) for i in qbo_ids]
        result: dict[str, MappedRecord] = {}
        with self.session() as session:
            for chunk in _chunks(ids, 500):
                rows = session.scalars(
                    select(IdMap)
                    .where(IdMap.company_key == company, IdMap.object_type == object_type)
                    .where(IdMap.qbo_id.in_(chunk))
                    .order_by(IdMap.id)
                )
                for row in rows:
                    result.setdefault(row.qbo_id, _mapped(row))
        return result

    def put_mappings(self, company: str, object_type: str, records: Iterable[MappedRecord]) -> None:
        """Insert or update mappings in one transaction."""
        records = list(records)
        if not records:
            return
        with self.session() as session:
            existing = {
                row.invoiced_id: row
                for chunk in _chunks([r.invoiced_id for r in records], 500)
                for row in session.scalars(
                    select(IdMap).where(
                        IdMap.company_key == company,
                        IdMap.object_type == object_type,
                        IdMap.invoiced_id.in_(chunk),
                    )
                )
            }
            for record in records:
                row = existing.get(record.invoiced_id)
                if row is None:
                    session.add(
                        IdMap(
                            company_key=company,
                            object_type=object_type,
                            invoiced_id=record.invoiced_id,
                            qbo_id=record.qbo_id,
                            sync_token=record.sync_token,
                            content_hash=record.content_hash,
                            origin=record.origin,
                        )
                    )
                else:
                    row.qbo_id = record.qbo_id
                    row.sync_token = record.sync_token
                    row.content_hash = record.content_hash
                    row.origin = record.origin

    def count_mappings(self, company: str, object_type: str) -> int:
        with self.session() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(IdMap)
                    .where(IdMap.company_key == company, IdMap.object_type == object_type)
                )
                or 0
            )

    # -- cursors ------------------------------------------------------------------------

    def get_cursor(self, company: str, name: str) -> str | None:
        with self.session() as session:
            row = session.get(SyncCursor, (company, name))
            return row.value if row else None

    def set_cursor(self, company: str, name: str, value: str) -> None:
        with self.session() as session:
            session.merge(SyncCursor(company_key=company, name=name, value=value))

    def clear_cursors(self, company: str, prefix: str) -> None:
        with self.session() as session:
            session.execute(
                delete(SyncCursor).where(SyncCursor.company_key == company, SyncCursor.name.startswith(prefix))
            )

    # -- runs and errors ----------------------------------------------------------------

    def start_run(self, company: str, dag_id: str, run_id: str, dry_run: bool = False) -> None:
        with self.session() as session:
            row = session.scalar(
                select(SyncRun).where(
                    SyncRun.company_key == company, SyncRun.dag_id == dag_id, SyncRun.run_id == run_id
                )
            )
            if row is None:
                session.add(SyncRun(company_key=company, dag_id=dag_id, run_id=run_id, dry_run=dry_run))
            else:
                row.state, row.finished_at, row.dry_run = "running", None, dry_run

    def finish_run(
        self, company: str, dag_id: str, run_id: str, state: str, counts: dict[str, Any], summary: str
    ) -> None:
        with self.session() as session:
            row = session.scalar(
                select(SyncRun).where(
                    SyncRun.company_key == company, SyncRun.dag_id == dag_id, SyncRun.run_id == run_id
                )
            )
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
            for chunk in _chunks(ids, 500):
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
        with self.session() as session:
            return set(
                session.scalars(
                    select(RecordError.source_id).where(
                        RecordError.company_key == company,
                        RecordError.flow == flow,
                        RecordError.object_type == object_type,
                        RecordError.resolved.is_(False),
                    )
                )
            )

    # -- settings -----------------------------------------------------------------------

    def get_settings(self, company: str) -> dict[str, Any]:
        with self.session() as session:
            rows = session.scalars(select(Setting).where(Setting.company_key == company))
            return {row.key: row.value.get("v") for row in rows}

    def put_settings(self, company: str, values: dict[str, Any]) -> None:
        with self.session() as session:
            for key, value in values.items():
                session.merge(Setting(company_key=company, key=key, value={"v": value}))

    # -- write journal ------------------------------------------------------------------

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

    # -- staging between tasks ----------------------------------------------------------

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
            if len(batch) >= 500:
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

    # -- leases ---------------------------------------------------------------------------

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
                stale = _aware(row.expires_at) <= now or bool(takeover_prefix and row.holder.startswith(takeover_prefix))
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

    # -- bindings (the rules live in binding.py) ------------------------------------------

    def bindings(self, company: str) -> list[StateBinding]:
        with self.session() as session:
            return list(
                session.scalars(select(StateBinding).where(StateBinding.company_key == company).order_by(StateBinding.id))
            )

    def add_binding(self, company: str, realm_id: str, fingerprint: str, anchors: dict[str, Any]) -> StateBinding:
        """A new active binding. The first one of a company uses the company key as its
        scope, so state written before bindings existed stays where it is."""
        with self.session() as session:
            taken = set(session.scalars(select(StateBinding.scope_key).where(StateBinding.company_key == company)))
            scope = company if company not in taken else next(
                f"{company}~{n}" for n in range(2, len(taken) + 3) if f"{company}~{n}" not in taken
            )
            session.execute(update(StateBinding).where(StateBinding.company_key == company).values(active=False))
            row = StateBinding(
                company_key=company,
                scope_key=scope,
                realm_id=realm_id,
                invoiced_fingerprint=fingerprint,
                invoiced_anchors=anchors,
                active=True,
            )
            session.add(row)
            session.execute(delete(BindingHold).where(BindingHold.company_key == company))
        return row

    def activate_binding(self, company: str, scope_key: str) -> None:
        with self.session() as session:
            session.execute(
                update(StateBinding)
                .where(StateBinding.company_key == company)
                .values(active=StateBinding.scope_key == scope_key)
            )
            session.execute(delete(BindingHold).where(BindingHold.company_key == company))

    def update_binding(self, scope_key: str, **values: Any) -> None:
        with self.session() as session:
            session.execute(update(StateBinding).where(StateBinding.scope_key == scope_key).values(**values))

    def holds(self, company: str) -> list[BindingHold]:
        with self.session() as session:
            return list(session.scalars(select(BindingHold).where(BindingHold.company_key == company)))

    def put_hold(self, company: str, side: str, found: str, message: str) -> None:
        with self.session() as session:
            row = session.get(BindingHold, (company, side))
            if row is None:
                session.add(BindingHold(company_key=company, side=side, found=found, message=message))
            elif row.found != found or row.message != message:
                row.found, row.message, row.detected_at = found, message, utcnow()

    def clear_hold(self, company: str, side: str) -> None:
        with self.session() as session:
            session.execute(delete(BindingHold).where(BindingHold.company_key == company, BindingHold.side == side))

    def has_state(self, scope_key: str) -> bool:
        """Whether a scope holds anything a foreign company could be harmed by."""
        with self.session() as session:
            for table, column in ((IdMap, IdMap.company_key), (WriteIntent, WriteIntent.company_key),
                                  (SyncCursor, SyncCursor.company_key)):
                if session.scalar(select(func.count()).select_from(table).where(column == scope_key)):
                    return True
        return False

    # -- tokens (encryption lives in tokens.py) -------------------------------------------

    @contextmanager
    def locked_token(self, company: str) -> Iterator[OAuthToken]:
        """The token row under a lock for the whole transaction: ``FOR UPDATE`` on
        PostgreSQL, the database write lock (``BEGIN IMMEDIATE``) on SQLite."""
        self._ensure_token_row(company)
        with self.session() as session:
            query = select(OAuthToken).where(OAuthToken.company_key == company)
            if self.is_postgres:
                query = query.with_for_update()
            yield session.scalars(query).one()

    def _ensure_token_row(self, company: str) -> None:
        """Create the row to lock; a concurrent creator winning the race is fine."""
        try:
            with self.session() as session:
                if session.get(OAuthToken, company) is None:
                    session.add(OAuthToken(company_key=company, status="disconnected", version=0))
        except IntegrityError:
            pass

    def read_token(self, company: str) -> OAuthToken | None:
        with self.session() as session:
            return session.get(OAuthToken, company)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _mapped(row: IdMap) -> MappedRecord:
    return MappedRecord(row.invoiced_id, row.qbo_id, row.sync_token, row.content_hash, row.origin)


def _chunks(items: list[str] | None, size: int) -> Iterator[list[str]]:
    items = items or []
    for start in range(0, len(items), size):
        yield items[start : start + size]
