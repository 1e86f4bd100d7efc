"""Recent Syncs: the runs of qbo_sync and qbo_import as the pipeline recorded them
(counts, per-record errors) joined with what Airflow knows (queued runs, runs that died
before their report, task instances to link to)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from accounting_sync.common.binding import active_scope_key
from accounting_sync.common.flows import FLOWS, Flow
from accounting_sync.common.values import aware
from accounting_sync.config.companies import Company
from accounting_sync.store.facade import StateStore
from accounting_sync.store.schema import IgnoredRecord, RecordError, SyncRun, TieOutRecord
from accounting_sync.ui.airflow_api import AirflowApi, AirflowApiError, DagState
from accounting_sync.ui.record_links import RecordLinks

RUN_LIMIT = 10
FINISHED = {"success", "failed"}
ACTIVE = {"queued", "running"}
OUTCOME_ORDER = ["created", "updated", "voided", "written_off", "unchanged", "skipped", "failed"]


@dataclass(frozen=True)
class DagControl:
    flow: Flow
    dag_id: str
    state: DagState | None  # None: Airflow does not know the DAG (or could not say)


@dataclass(frozen=True)
class TaskLink:
    task_id: str
    state: str
    url: str


@dataclass
class RunView:
    flow: Flow
    dag_id: str
    run_id: str
    state: str
    started_at: datetime | None
    finished_at: datetime | None = None
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    dry_run: bool = False
    note: str | None = None
    errors: list[RecordError] = field(default_factory=list)
    books: TieOutRecord | None = None
    tasks: list[TaskLink] = field(default_factory=list)
    run_url: str = ""

    @property
    def trigger(self) -> str:
        """How the run started, from Airflow's run id convention (``manual__...``)."""
        kind, _, rest = self.run_id.partition("__")
        return kind.replace("_", " ") if rest else ""

    @property
    def duration(self) -> str:
        if not self.started_at or not self.finished_at:
            return ""
        seconds = int((self.finished_at - self.started_at).total_seconds())
        minutes, seconds = divmod(max(seconds, 0), 60)
        return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"

    @property
    def outcomes(self) -> list[str]:
        """The count columns this run needs, in a stable, readable order."""
        seen = {outcome for counts in self.counts.values() for outcome in counts}
        return [o for o in OUTCOME_ORDER if o in seen] + sorted(seen - set(OUTCOME_ORDER))


@dataclass
class SyncsView:
    controls: list[DagControl]
    runs: list[RunView]
    problem: str | None = None
    ignored: dict[tuple[str, str, str], IgnoredRecord] = field(default_factory=dict)
    links: RecordLinks = field(default_factory=RecordLinks)  # a tie-out difference's records on both sides

    @property
    def active(self) -> bool:
        """A run is still going: the page keeps its runs table up to date."""
        return any(run.state in ACTIVE for run in self.runs)


def recent_syncs(
    store: StateStore, company: Company, api: AirflowApi, ui_root: str, readable: set[str]
) -> SyncsView:
    """The runs of the company's DAGs in ``readable``: a DAG Airflow refuses the user
    shows neither its stored runs nor its controls."""
    dag_flows = {company.dag_id(flow.name): flow for flow in FLOWS if company.dag_id(flow.name) in readable}
    scope = active_scope_key(store, company.key)
    stored = store.recent_runs(scope, limit=RUN_LIMIT * len(dag_flows), dag_ids=list(dag_flows))
    runs = {(row.dag_id, row.run_id): _from_store(row, dag_flows[row.dag_id]) for row in stored}
    problem = None
    controls: list[DagControl] = []
    try:
        for dag_id, flow in dag_flows.items():
            state = api.dag(dag_id)
            controls.append(DagControl(flow, dag_id, state))
            if state is not None:
                _merge_airflow_runs(runs, flow, api.dag_runs(dag_id, RUN_LIMIT))
        views = _latest(runs.values())
        _attach_tasks(views, api, ui_root)
    except AirflowApiError as error:
        problem = f"Run states and auto-sync could not be read from Airflow. {error}"
        controls = [DagControl(flow, dag_id, None) for dag_id, flow in dag_flows.items()]
        views = _latest(runs.values())
    for view in views:
        view.errors = store.errors_for_run(scope, view.flow.name, view.run_id)
        view.books = store.tie_out_of_run(scope, view.dag_id, view.run_id)
        view.run_url = f"{ui_root}dags/{quote(view.dag_id, safe='')}/runs/{quote(view.run_id, safe='')}"
    differing = any(view.books and (view.books.result or {}).get("differences") for view in views)
    links = RecordLinks.of(company) if differing else RecordLinks()  # the connections are read only for a difference
    return SyncsView(controls, views, problem, store.ignored_records(scope), links)


def _from_store(row: SyncRun, flow: Flow) -> RunView:
    return RunView(
        flow=flow,
        dag_id=row.dag_id,
        run_id=row.run_id,
        state=row.state,
        started_at=aware(row.started_at),
        finished_at=aware(row.finished_at),
        counts=dict(row.counts or {}),
        dry_run=row.dry_run,
    )


def _merge_airflow_runs(
    runs: dict[tuple[str, str], RunView], flow: Flow, airflow_runs: list[dict[str, Any]]
) -> None:
    """Airflow knows runs the pipeline has not recorded yet (queued) and how runs that
    never reached their report ended."""
    for run in airflow_runs:
        key = (str(run["dag_id"]), str(run["dag_run_id"]))
        airflow_state = str(run.get("state") or "")
        view = runs.get(key)
        if view is None:
            started = (
                _parse(run.get("start_date")) or _parse(run.get("queued_at")) or _parse(run.get("run_after"))
            )
            runs[key] = RunView(flow, key[0], key[1], airflow_state, started, _parse(run.get("end_date")))
        elif view.state not in FINISHED and airflow_state in FINISHED:
            view.state = airflow_state
            view.finished_at = _parse(run.get("end_date"))
            view.note = "The run ended before it wrote its report: see the task logs."


def _latest(runs: Any) -> list[RunView]:
    floor = datetime.min.replace(tzinfo=timezone.utc)
    return sorted(runs, key=lambda view: view.started_at or floor, reverse=True)[:RUN_LIMIT]


def _attach_tasks(views: list[RunView], api: AirflowApi, ui_root: str) -> None:
    by_run = {(view.dag_id, view.run_id): view for view in views}
    instances = api.task_instances(
        sorted({view.dag_id for view in views}), sorted({view.run_id for view in views})
    )
    for ti in sorted(instances, key=lambda ti: (str(ti.get("start_date") or "~"), str(ti.get("task_id")))):
        view = by_run.get((str(ti.get("dag_id")), str(ti.get("dag_run_id"))))
        if view is None:
            continue
        path = f"dags/{quote(view.dag_id, safe='')}/runs/{quote(view.run_id, safe='')}/tasks/{quote(str(ti['task_id']), safe='')}"
        if int(ti.get("map_index", -1)) >= 0:
            path += f"/mapped/{ti['map_index']}"
        view.tasks.append(TaskLink(str(ti["task_id"]), str(ti.get("state") or "none"), ui_root + path))


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return aware(datetime.fromisoformat(str(value)))
    except ValueError:
        return None

