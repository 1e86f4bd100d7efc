"""Airflow's own REST API v2, called with the signed-in user's JWT.

Sync Now and Enable/Pause Auto-Sync go through the public API rather than the metadata
DB so that Airflow applies its permissions and audit log, and its UI shows the same
state. The API server calls itself over loopback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from airflow.configuration import conf
from fastapi import Request


class AirflowApiError(Exception):
    """Airflow refused or failed a call; the message is safe to show."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class DagState:
    dag_id: str
    is_paused: bool


def loopback_url(request: Request, airflow_root: str) -> str:
    """This API server as seen from inside itself: the socket that took the request."""
    host, port = request.scope.get("server") or ("127.0.0.1", 8080)
    host = f"[{host}]" if ":" in str(host) else str(host)
    scheme = "https" if conf.get("api", "ssl_cert", fallback="") else "http"
    return f"{scheme}://{host}:{port}{airflow_root.rstrip('/')}"


class AirflowApi:
    def __init__(self, http: httpx.Client, token: str | None) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _call(self, method: str, path: str, json: Any = None, params: dict[str, Any] | None = None) -> Any:
        try:
            response = self.http.request(
                method, f"/api/v2/{path}", json=json, params=params, headers=self.headers
            )
        except httpx.HTTPError as error:
            raise AirflowApiError(
                503, f"Airflow's API could not be reached ({type(error).__name__})."
            ) from None
        if response.status_code >= 400:
            raise AirflowApiError(response.status_code, _detail(response))
        return response.json()

    def dag(self, dag_id: str) -> DagState | None:
        """None when Airflow does not know the DAG (not parsed yet, or not deployed)."""
        try:
            body = self._call("GET", f"dags/{quote(dag_id, safe='')}")
        except AirflowApiError as error:
            if error.status == 404:
                return None
            raise
        return DagState(dag_id=dag_id, is_paused=bool(body.get("is_paused")))

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self._call("PATCH", f"dags/{quote(dag_id, safe='')}", json={"is_paused": paused})

    def trigger(self, dag_id: str) -> str:
        body = self._call(
            "POST", f"dags/{quote(dag_id, safe='')}/dagRuns", json={"logical_date": None, "conf": {}}
        )
        return str(body.get("dag_run_id", ""))

    def dag_runs(self, dag_id: str, limit: int) -> list[dict[str, Any]]:
        body = self._call(
            "GET", f"dags/{quote(dag_id, safe='')}/dagRuns", params={"order_by": "-run_after", "limit": limit}
        )
        return list(body.get("dag_runs", []))

    def task_instances(self, dag_ids: list[str], run_ids: list[str]) -> list[dict[str, Any]]:
        if not dag_ids or not run_ids:
            return []
        body = self._call(
            "POST",
            "dags/~/dagRuns/~/taskInstances/list",
            json={"dag_ids": dag_ids, "dag_run_ids": run_ids, "page_limit": 100},
        )
        return list(body.get("task_instances", []))


def _detail(response: httpx.Response) -> str:
    """Airflow's own explanation (``detail``), never the request."""
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    if isinstance(detail, list):
        detail = "; ".join(str(item.get("msg", item)) for item in detail if isinstance(item, dict))
    reason = {401: "not signed in", 403: "not allowed"}.get(response.status_code, "")
    text = str(detail or reason or response.reason_phrase)
    return f"Airflow answered {response.status_code}: {text}"
