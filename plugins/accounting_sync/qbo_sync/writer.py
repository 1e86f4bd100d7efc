"""Writing to QBO in batches, exactly once.

Each batch is written to the journal (``write_intent``) before it is sent and carries a
``requestid`` derived from its content. Its answer is applied (id map, errors) and the
journal entry dropped in that order. If the process dies anywhere in between, the next
run replays the journal entry with the same ``requestid`` and QBO answers with the
original result instead of writing again: no lost answer ever becomes a duplicate.

Under QBO's answer times (seconds for a batch of 30) one batch at a time reaches a
fraction of QBO's 40 batches a minute, so transaction batches of one round are sent
several at a time (``RateLimits.batches_in_flight``, within its 10 concurrent requests;
the limiter paces them all). Each is journaled before it is sent, whatever else is in
flight, and has its own lost-answer read-back. Name-list writes (customers, items) go one at a time:
QBO refuses overlapping ones ("one name at a time", 6000). ``write`` returns once every
batch is answered, so what the next phase writes may depend on it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from accounting_sync.common.values import chunked, name_key
from accounting_sync.quickbooks.client import SMALL_BATCH, QuickBooksClient, escape
from accounting_sync.quickbooks.faults import (
    BATCH_TOO_LARGE,
    HINTS,
    STALE_REFERENCE,
    AmbiguousWriteError,
    QboFault,
)
from accounting_sync.store.facade import StateStore
from accounting_sync.store.idmap import ORIGIN_INVOICED, MappedRecord

log = logging.getLogger(__name__)

MAX_ROUNDS = 4
LOST_ANSWER_ATTEMPTS = 4  # then the journal keeps the batch for the next run
NAME_FIELDS = {"Customer": "DisplayName", "Item": "Name"}
BATCH_SIZE_KEY = "quickbooks.batch_size"
"""State-store key (cursor table) of the batch size this company's QBO accepted."""


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
        on_written: Callable[[WriteOp, dict[str, Any]], object] | None = None,
    ) -> None:
        self.store, self.client, self.company, self.flow, self.run_id = store, client, company, flow, run_id
        self.entity = entity
        self.on_fault = on_fault
        self.refresh_tokens = refresh_tokens
        self.heartbeat = heartbeat
        self.on_written = on_written
        self.outcome = Outcome()
        self.round = 1
        self.progress_total = 0
        self.progress_done = 0
        # Batches in flight answer in worker threads: what they record (store, outcome,
        # callbacks) is done under this lock, one batch at a time; only the sending overlaps.
        self._lock = threading.Lock()
        learned = store.get_cursor(company, BATCH_SIZE_KEY)
        if learned:
            client.batch_limit = min(client.batch_limit, int(learned))

    def write(self, ops: list[WriteOp]) -> Outcome:
        """Write every op; transient per-item faults are retried in later rounds."""
        self.progress_total += len(ops)
        pending = ops
        for round_number in range(1, MAX_ROUNDS + 1):
            if not pending:
                break
            self.outcome.retry = []
            self.round = round_number
            self._send_all(list(chunked(pending, self.client.batch_limit)))
            pending = self.outcome.retry
            if pending and self.refresh_tokens:
                pending = self.refresh_tokens(pending)
            if pending:
                log.info("%s: %d records to retry (round %d)", self.entity, len(pending), round_number + 1)
        for op in pending:
            self._fail(op, QboFault(400, "retry_exhausted", "QuickBooks kept refusing this record; it is retried next sync"))
        return self.outcome

    def in_flight(self) -> int:
        """How many batches may be outstanding: one for a name list, else the configured
        number within QBO's concurrent requests."""
        if self.entity in NAME_FIELDS:
            return 1
        limits = self.client.config.limits
        return max(1, min(limits.batches_in_flight, limits.concurrent))

    def _send_all(self, chunks: list[list[WriteOp]]) -> None:
        """Send the round's batches, several at a time; returns once all are answered. After
        a failure nothing more is started; those in flight finish, then it is raised."""
        workers = min(self.in_flight(), len(chunks))
        if workers <= 1:
            for chunk in chunks:
                self._send(chunk)
            return
        with ThreadPoolExecutor(workers, thread_name_prefix=f"qbo-{self.entity}") as pool:
            futures = [pool.submit(self._send, chunk) for chunk in chunks]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((f for f in futures if f in done and f.exception() is not None), None)
            if failed is not None:
                pool.shutdown(wait=True, cancel_futures=True)
                failed.result()

    def _items(self, chunk: list[WriteOp]) -> list[dict[str, Any]]:
        return [
            {"bId": f"b{index}", "operation": op.operation, self.entity: op.payload} for index, op in enumerate(chunk)
        ]

    def _send(self, chunk: list[WriteOp]) -> None:
        items = self._items(chunk)
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
        with self._lock:
            self.store.add_intent(self.company, rid, self.flow, journal)
            if self.heartbeat:
                self.heartbeat()
        self.apply(rid, chunk)

    def apply(self, rid: str, chunk: list[WriteOp], reconcile_first: bool = False) -> None:
        """Send (or re-send) a journaled batch and record what QBO answered.

        ``requestid`` is only a second guard: QBO forgets ids after a while and has made
        duplicates despite them. So a batch whose answer was lost, and a journal entry of
        an earlier run (``reconcile_first``), is first looked up in QBO by what identifies
        each record; what is found there is recorded, and only the rest is sent again."""
        pending = self.reconcile(chunk) if reconcile_first else chunk
        if len(pending) > self.client.batch_limit:
            self._smaller_batches(rid, pending)
            return
        attempts = Retrying(
            retry=retry_if_exception_type(AmbiguousWriteError),
            stop=stop_after_attempt(LOST_ANSWER_ATTEMPTS),
            wait=wait_exponential_jitter(initial=1, max=15),
            reraise=True,
        )
        answers: dict[Any, dict[str, Any]] = {}
        for attempt in attempts:
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    log.warning("%s: the answer to a batch was lost; reading QuickBooks back", self.entity)
                    pending = self.reconcile(pending)
                if not pending:
                    break
                # A different set of records must not reuse the id: QBO would replay the first answer.
                sent_rid = rid if pending == chunk else request_id(self.company, {"lost": rid, "items": self._items(pending)})
                try:
                    answers = {a.get("bId"): a for a in self.client.batch(self._items(pending), sent_rid)}
                except QboFault as refused:
                    if refused.code == BATCH_TOO_LARGE and len(pending) > SMALL_BATCH:
                        self._smaller_batches(rid, pending)
                        return
                    with self._lock:
                        for op in pending:
                            self._fail(op, refused)
                        self.store.drop_intent(rid)
                    return
        with self._lock:
            self._record(pending, answers)
            self.store.drop_intent(rid)
            self.progress_done += len(chunk)
            log.info("%s: %d of %d written", self.entity, self.progress_done, self.progress_total)

    def _record(self, chunk: list[WriteOp], answers: dict[Any, dict[str, Any]]) -> None:
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

    def reconcile(self, chunk: list[WriteOp]) -> list[WriteOp]:
        """Creates that already reached QBO are recorded as written; returns the rest.
        Updates are returned as they are: sending one twice changes nothing (a stale
        SyncToken comes back as 5010 and is re-read)."""
        creates = [op for op in chunk if op.operation == "create"]
        found = find_written(self.client, self.entity, creates) if creates else {}
        if found:
            log.warning("%s: %d records were already in QuickBooks; not sent again", self.entity, len(found))
            with self._lock:
                self._succeed([(op, found[op.source_id]) for op in creates if op.source_id in found])
                self.progress_done += len(found)
        return [op for op in chunk if op.operation != "create" or op.source_id not in found]

    def _smaller_batches(self, rid: str, chunk: list[WriteOp]) -> None:
        """QBO refused the batch for its size (1040), so nothing of it was written: from now
        on, for this run and the next ones, batches hold 10 (Intuit's smaller figure)."""
        log.warning("QuickBooks refused a batch of %d; sending batches of %d from now on", len(chunk), SMALL_BATCH)
        self.client.batch_limit = SMALL_BATCH
        with self._lock:
            self.store.set_cursor(self.company, BATCH_SIZE_KEY, str(SMALL_BATCH))
            self.store.drop_intent(rid)
        for smaller in chunked(chunk, SMALL_BATCH):
            self._send(smaller)

    def _succeed(self, successes: list[tuple[WriteOp, dict[str, Any]]]) -> None:
        by_type: dict[str, list[MappedRecord]] = {}
        for op, entity in successes:
            by_type.setdefault(op.object_type, []).append(
                MappedRecord(op.source_id, str(entity["Id"]), str(entity.get("SyncToken", "0")), op.hash, ORIGIN_INVOICED)
            )
            (self.outcome.created if op.operation == "create" else self.outcome.updated).append(op.source_id)
            if self.on_written is not None:
                self.on_written(op, entity)
        for object_type, records in by_type.items():
            self.store.put_mappings(self.company, object_type, records)
            self.store.resolve_errors(self.company, self.flow, error_type(object_type), [r.invoiced_id for r in records])

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
    """Record why QBO refused a record. A missing or inactive reference (2500, 610) may be a
    cached account or tax-code id gone stale in QBO: the company's cached reference data
    is dropped, so the next run finds those again before it retries the record."""
    if fault.code in STALE_REFERENCE:
        store.forget_reads(company)
    message = fault.message + (f": {fault.detail}" if fault.detail and fault.detail not in fault.message else "")
    store.record_error(
        company,
        flow,
        error_type(object_type),
        source_id,
        message=message,
        document_number=document_number,
        code=fault.code,
        hint=fault.hint or HINTS.get(fault.code),
        run_id=run_id,
    )


REPORTED_ON = {"fee": "payment", "refund_invoice": "refund", "refund_payment": "refund"}


def error_type(object_type: str) -> str:
    """Bad-debt write-offs are reported on their invoice, a convenience fee on its payment,
    what spends a refunded credit note on its refund."""
    if object_type.startswith("bad_debt"):
        return "invoice"
    return REPORTED_ON.get(object_type, object_type)


def find_written(client: QuickBooksClient, entity: str, ops: list[WriteOp]) -> dict[str, dict[str, Any]]:
    """The QBO record each create of ``ops`` made, where it was made: customers and items by
    name; transactions by customer, date, private note (it names the Invoiced record) and
    DocNumber. Keyed by the op's source id."""
    found: dict[str, dict[str, Any]] = {}
    if entity in NAME_FIELDS:
        name = NAME_FIELDS[entity]
        wanted = {name_key(op.payload[name]): op.source_id for op in ops}
        literals = ", ".join(f"'{escape(op.payload[name])}'" for op in ops)
        for row in client.query_rows(entity, f"Active IN (true, false) AND {name} IN ({literals})"):
            if name_key(row.get(name, "")) in wanted:
                found[wanted[name_key(row[name])]] = row
        return found
    wanted_notes = {(str(op.payload["CustomerRef"]["value"]), op.payload.get("PrivateNote")): op for op in ops}
    customers = ", ".join(sorted({f"'{customer}'" for customer, _ in wanted_notes}))
    dates = ", ".join(sorted({f"'{op.payload['TxnDate']}'" for op in ops}))
    for row in client.query_rows(entity, f"CustomerRef IN ({customers}) AND TxnDate IN ({dates})"):
        op = wanted_notes.get((str(row["CustomerRef"]["value"]), row.get("PrivateNote")))
        if op is not None and op.payload.get("DocNumber") in (None, row.get("DocNumber")):
            found[op.source_id] = row
    return found


def replay_journal(
    store: StateStore, client: QuickBooksClient, company: str, flow: str, run_id: str
) -> set[tuple[str, str]]:
    """Finish batches that were journaled but never confirmed (a crash or a lost answer):
    what reached QBO is found there and recorded, the rest is sent again. Returns the
    (object type, source id) of every record so settled, which this run's plan, made
    before, must not write again."""
    settled: set[tuple[str, str]] = set()
    for intent in store.pending_intents(company, flow):
        journal = intent.payload
        log.warning("Resolving an unconfirmed %s batch from an interrupted run", journal["entity"])
        writer = BatchWriter(store, client, company, flow, run_id, journal["entity"])
        ops = [WriteOp(**op) for op in journal["ops"]]
        writer.apply(intent.request_id, ops, reconcile_first=True)
        settled.update((op.object_type, op.source_id) for op in ops)
    return settled
