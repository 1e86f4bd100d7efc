"""The last step of both pipelines: record the run, then fail it if a record failed.

A failed run lists every record that could not be written, with its document number,
QBO or Invoiced code, the reason and how to fix it, so the task log alone is enough to
repair the books.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounting_sync.common.job import SyncJob

log = logging.getLogger(__name__)


class RecordsFailed(RuntimeError):
    """Some records could not be written; the message lists them."""


def summarize(counts: dict[str, dict[str, int]]) -> str:
    return "; ".join(
        f"{kind}: " + ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()))
        for kind, outcomes in sorted(counts.items())
    )


STOPPED = (
    "stopped before every record was tried: the failed task's log says why "
    "(for example a QuickBooks connection to reconnect); the next run picks up where it stopped"
)


def close_run(job: SyncJob, flow: str, verb: str, failure: type[RecordsFailed]) -> str:
    """Record the run's counts and state; raise ``failure`` listing each failed record.

    Runs even when an earlier step failed (the task's trigger rule is ``all_done``), so a
    run that died half-way is recorded as failed instead of staying "running"."""
    staged = dict(job.staged("load", "counts"))
    if "counts" not in staged:
        job.store.finish_run(job.company, job.dag_id, job.run_id, "failed", {}, STOPPED)
        job.store.clear_stage(job.company, f"{job.dag_id}/")
        raise failure(f"The run {STOPPED}.")
    counts = staged["counts"]
    errors = job.store.open_errors(job.company, flow, run_id=job.run_id)
    summary = summarize(counts) or f"nothing to {verb.removesuffix('ed')}"
    ignored = _still_ignored(job, flow)
    if ignored:
        summary += f"; {len(ignored)} ignored record(s) not retried"
    job.store.finish_run(job.company, job.dag_id, job.run_id, "failed" if errors else "success", counts, summary)
    job.store.clear_stage(job.company, f"{job.dag_id}/")
    log.info("Run summary: %s", summary)
    for line in ignored:
        log.warning("Ignored, not retried: %s", line)
    tie_out = job.store.tie_out_of_run(job.company, job.dag_id, job.run_id)
    books = tie_out.summary if tie_out else "No tie-out ran: the books were not compared."
    problems = []
    if errors:
        details = "\n".join(
            f"  {e.object_type} {e.document_number or e.source_id}: [{e.code}] {e.message}"
            + (f"\n      fix: {e.hint}" if e.hint else "")
            for e in errors
        )
        problems.append(f"{len(errors)} record(s) could not be {verb}:\n{details}")
    if tie_out and tie_out.unexplained:
        problems.append(f"The tie-out found {tie_out.unexplained} unexplained difference(s): see its log.")
    log.info("%s", books)
    if problems:
        raise failure("\n".join([*problems, books]))
    return f"{summary}. {books}"


def _still_ignored(job: SyncJob, flow: str) -> list[str]:
    """Every report names the records someone chose to ignore, so they are not forgotten."""
    ignored = job.store.ignored_records(job.company, flow)
    errors = {(e.flow, e.object_type, e.source_id): e for e in job.store.open_errors(job.company, flow)}
    lines = []
    for key, row in sorted(ignored.items()):
        error = errors.get(key)
        what = f"{key[1]} {error.document_number or key[2]}: {error.message}" if error else f"{key[1]} {key[2]}"
        lines.append(f"{what} (ignored by {row.ignored_by} on {row.ignored_at:%Y-%m-%d})")
    return lines
