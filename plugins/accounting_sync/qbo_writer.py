"""Writing to QBO in batches, exactly once.

Each batch is written to the journal (``write_intent``) before it is sent and carries a
``requestid`` derived from its content. Its answer is applied (id map, errors) and the
journal entry dropped in that order. If the process dies anywhere in between, the next
run replays the journal entry with the same ``requestid`` and QBO answers with the
original result instead of writing again: no lost answer ever becomes a duplicate.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from accounting_sync.quickbooks import BATCH_LIMIT, HINTS, QboFault, QuickBooksClient
from accounting_sync.state import ORIGIN_INVOICED, MappedRecord, StateStore

log = logging.getLogger(__name__)

MAX_ROUNDS = 4


@dataclass
class WriteOp:
    """One create or update of one record."""

    object_type: str  # id map type, e.g. "invoice" or "bad_debt_credit_memo"
    source_id: str
    operation: str  # create | update
    payload: dict[str, Any]
    hash: str | None
    document_number: str | None = None


@dataclass
class Outcome:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    retry: list[WriteOp] = field(default_factory=list)


FaultHandler = Callable[[WriteOp, QboFault], "WriteOp | None"]


def request_id(company: str, body: Any) -> str:
    """At most 36 characters, as QBO allows for a batch requestid."""
    digest = hashlib.sha256(f"{company}|{json.dumps(body, sort_keys=True)}".encode()).hexdigest()
    return digest[:32]


class BatchWriter:
    """Writes one entity type in batches of 30 and records every result."""

    def __init__(
        self,
        store: StateStore,
        client: QuickBooksClient,
        company: str,
        flow: str,
        run_id: str,
        entity: str,
        on_fault: FaultHandler | None = None,
        refresh_tokens: Callable[[list[WriteOp]], list[WriteOp]] | None = None,
        heartbeat: Callable[[], object] | None = None,
    ) -> None:
        self.store, self.client, self.company, self.flow, self.run_id = store, client, company, flow, run_id
        self.entity = entity
        self.on_fault = on_fault
        self.refresh_tokens = refresh_tokens
        self.heartbeat = heartbeat
        self.outcome = Outcome()
        self.round = 1
        self.progress_total = 0
        self.progress_done = 0

    def write(self, ops: list[WriteOp]) -> Outcome:
        """Write every op; transient per-item faults are retried in later rounds."""
        self.progress_total += len(ops)
        pending = ops
        for round_number in range(1, MAX_ROUNDS + 1):
            if not pending:
                break
            self.outcome.retry = []
            self.round = round_number
            for start in range(0, len(pending), BATCH_LIMIT):
                self._send(pending[start : start + BATCH_LIMIT])
            pending = self.outcome.retry
            if pending and self.refresh_tokens:
                pending = self.refresh_tokens(pending)
            if pending:
                log.info("%s: %d records to retry (round %d)", self.entity, len(pending), round_number + 1)
        for op in pending:
            self._fail(op, QboFault(400, "retry_exhausted", "QuickBooks kept refusing this record; it is retried next sync"))
        return self.outcome

    def _send(self, chunk: list[WriteOp]) -> None:
        items = [
            {"bId": f"b{index}", "operation": op.operation, self.entity: op.payload} for index, op in enumerate(chunk)
        ]
        # Run and round are part of the id: a retry after a definite refusal must not be
        # answered with QBO's replay of that refusal. Exactly-once across runs comes from
        # the journal, which keeps the id of a batch whose answer was never applied.
        rid = request_id(self.company, {"run": self.run_id, "round": self.round, "items": items})
        journal = {
            "entity": self.entity,
            "flow": self.flow,
            "ops": [op.__dict__ for op in chunk],
            "items": items,
        }
        self.store.add_intent(self.company, rid, self.flow, journal)
        if self.heartbeat:
            self.heartbeat()
        self.apply(rid, chunk, items)

    def apply(self, rid: str, chunk: list[WriteOp], items: list[dict[str, Any]]) -> None:
        """Send (or re-send) a journaled batch and record what QBO answered."""
        try:
            answers = {answer.get("bId"): answer for answer in self.client.batch(items, rid)}
        except QboFault as refused:
            for op in chunk:
                self._fail(op, refused)
            self.store.drop_intent(rid)
            return
        successes: list[tuple[WriteOp, dict[str, Any]]] = []
        for index, op in enumerate(chunk):
            answer = answers.get(f"b{index}", {})
            if self.entity in answer:
                successes.append((op, answer[self.entity]))
                continue
            errors = (answer.get("Fault") or {}).get("Error") or [{"code": "missing", "Message": "no answer for item"}]
            fault = QboFault.from_error(400, errors[0])
            if fault.transient or fault.code == "5010":
                log.warning("%s %s: QBO %s (%s); will retry", self.entity, op.document_number, fault.code, fault.message)
                self.outcome.retry.append(op)
                continue
            replacement = self.on_fault(op, fault) if self.on_fault else None
            if replacement is not None:
                self.outcome.retry.append(replacement)
            else:
                self._fail(op, fault)
        self._succeed(successes)
        self.store.drop_intent(rid)
        self.progress_done += len(chunk)
        log.info("%s: %d of %d written", self.entity, self.progress_done, self.progress_total)

    def _succeed(self, successes: list[tuple[WriteOp, dict[str, Any]]]) -> None:
        by_type: dict[str, list[MappedRecord]] = {}
        for op, entity in successes:
            by_type.setdefault(op.object_type, []).append(
                MappedRecord(op.source_id, str(entity["Id"]), str(entity.get("SyncToken", "0")), op.hash, ORIGIN_INVOICED)
            )
            (self.outcome.created if op.operation == "create" else self.outcome.updated).append(op.source_id)
        for object_type, records in by_type.items():
            self.store.put_mappings(self.company, object_type, records)
            self.store.resolve_errors(self.company, self.flow, _error_type(object_type), [r.invoiced_id for r in records])

    def _fail(self, op: WriteOp, fault: QboFault) -> None:
        self.outcome.failed.append(op.source_id)
        record_fault(self.store, self.company, self.flow, self.run_id, op.object_type, op.source_id, op.document_number, fault)


def record_fault(
    store: StateStore,
    company: str,
    flow: str,
    run_id: str,
    object_type: str,
    source_id: str,
    document_number: str | None,
    fault: QboFault,
) -> None:
    message = fault.message + (f": {fault.detail}" if fault.detail and fault.detail not in fault.message else "")
    store.record_error(
        company,
        flow,
        _error_type(object_type),
        source_id,
        message=message,
        document_number=document_number,
        code=fault.code,
        hint=fault.hint or HINTS.get(fault.code),
        run_id=run_id,
    )


def _error_type(object_type: str) -> str:
    """Bad-debt write-offs are reported on their invoice."""
    return "invoice" if object_type.startswith("bad_debt") else object_type


def replay_journal(store: StateStore, client: QuickBooksClient, company: str, flow: str, run_id: str) -> int:
    """Re-send batches that were journaled but never confirmed (a crash mid-write)."""
    intents = store.pending_intents(company, flow)
    for intent in intents:
        journal = intent.payload
        log.warning("Replaying an unconfirmed %s batch from an interrupted run", journal["entity"])
        writer = BatchWriter(store, client, company, flow, run_id, journal["entity"])
        writer.apply(intent.request_id, [WriteOp(**op) for op in journal["ops"]], journal["items"])
    return len(intents)
