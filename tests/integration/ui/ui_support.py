"""Helpers for the Accounting Sync UI tests: a stand-in for Airflow's REST API and a
browser-like client that keeps cookies and sends the page's CSRF token."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import requests
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import BaseModel, ConfigDict

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


class TriggerBody(BaseModel):
    """Airflow's TriggerDAGRunPostBody: strict, ``logical_date`` required but nullable."""

    model_config = ConfigDict(extra="forbid")
    logical_date: datetime | None
    conf: dict[str, Any] = {}


class PatchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    is_paused: bool


class BatchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dag_ids: list[str] | None = None
    dag_run_ids: list[str] | None = None
    page_limit: int = 100


@dataclass
class Call:
    method: str
    path: str
    authorization: str | None
    body: Any


@dataclass
class FakeAirflow:
    """The few /api/v2 routes the UI uses, with Airflow's request shapes and answers."""

    paused: dict[str, bool] = field(default_factory=lambda: {"qbo_sync": True, "qbo_import": True})
    runs: list[dict[str, Any]] = field(default_factory=list)
    task_instances: list[dict[str, Any]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    refuse_with: int | None = None

    def add_run(self, dag_id: str, run_id: str, state: str, **dates: str) -> None:
        self.runs.append(
            {
                "dag_id": dag_id,
                "dag_run_id": run_id,
                "state": state,
                "run_after": "2026-07-01T10:00:00Z",
                **dates,
            }
        )

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def record(request: Request, call_next: Any) -> Any:
            body = await request.body()
            self.calls.append(
                Call(request.method, request.url.path, request.headers.get("authorization"), body)
            )
            if self.refuse_with:
                return JSONResponse({"detail": "Forbidden"}, status_code=self.refuse_with)
            return await call_next(request)

        def known(dag_id: str) -> None:
            if dag_id not in self.paused:
                raise HTTPException(404, f"The Dag with ID: `{dag_id}` was not found")

        @app.get("/api/v2/dags/{dag_id}")
        def get_dag(dag_id: str) -> dict[str, Any]:
            known(dag_id)
            return {"dag_id": dag_id, "is_paused": self.paused[dag_id]}

        @app.patch("/api/v2/dags/{dag_id}")
        def patch_dag(dag_id: str, body: PatchBody) -> dict[str, Any]:
            known(dag_id)
            self.paused[dag_id] = body.is_paused
            return {"dag_id": dag_id, "is_paused": body.is_paused}

        @app.post("/api/v2/dags/{dag_id}/dagRuns")
        def trigger(dag_id: str, body: TriggerBody) -> dict[str, Any]:
            known(dag_id)
            run_id = f"manual__2026-07-01T10:0{len(self.runs)}:00+00:00"
            self.add_run(dag_id, run_id, "queued", queued_at=datetime.now(timezone.utc).isoformat())
            return {"dag_id": dag_id, "dag_run_id": run_id, "state": "queued"}

        @app.get("/api/v2/dags/{dag_id}/dagRuns")
        def dag_runs(dag_id: str, limit: int = 100, order_by: str = "id") -> dict[str, Any]:
            runs = [run for run in self.runs if run["dag_id"] == dag_id][::-1][:limit]
            return {"dag_runs": runs, "total_entries": len(runs)}

        @app.post("/api/v2/dags/~/dagRuns/~/taskInstances/list")
        def task_instances(body: BatchBody) -> dict[str, Any]:
            rows = [
                ti
                for ti in self.task_instances
                if ti["dag_id"] in (body.dag_ids or []) and ti["dag_run_id"] in (body.dag_run_ids or [])
            ]
            return {"task_instances": rows, "total_entries": len(rows)}

        return app


def mounted(app: FastAPI, behind: str | None = None) -> TestClient:
    """Mounted under /accounting-sync, the way Airflow's API server mounts plugin apps.
    ``behind``: the public https address of a TLS proxy the browser talks to; the app then
    sees what a proxy forwards (plain HTTP, the internal Host)."""
    root = FastAPI()
    root.mount("/accounting-sync", app)
    if behind is None:
        return TestClient(root, follow_redirects=False)

    async def proxy(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k != b"host"] + [(b"host", b"airflow-apiserver:8080")]
            scope = {**scope, "scheme": "http", "server": ("airflow-apiserver", 8080), "headers": headers}
        await root(scope, receive, send)

    return TestClient(proxy, base_url=behind, follow_redirects=False)


class Browser:
    """A TestClient used like a browser: cookies kept, CSRF token read from the page."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.responses: list[Response] = []

    def get(self, path: str, **kwargs: Any) -> Response:
        response = self.client.get(path, **kwargs)
        self.responses.append(response)
        return response

    def csrf(self, page: str = "/accounting-sync/") -> str:
        match = CSRF_INPUT.search(self.get(page).text)
        assert match, "the page has no CSRF token"
        return html.unescape(match.group(1))

    def post(
        self, path: str, data: dict[str, str] | None = None, page: str = "/accounting-sync/", **kwargs: Any
    ) -> Response:
        """Submit a form the way the page does: with the token the page carries."""
        response = self.client.post(path, data={"csrf_token": self.csrf(page), **(data or {})}, **kwargs)
        self.responses.append(response)
        return response

    def seen(self) -> str:
        """Everything the server sent back: bodies and headers."""
        return "\n".join(f"{r.headers}\n{r.text}" for r in self.responses)


def flash(response: Response) -> str:
    match = re.search(r'class="flash (\w+)" role="status">([^<]*)<', response.text)
    return f"{match.group(1)}: {html.unescape(match.group(2))}" if match else ""


def start_connect(browser: Browser) -> str:
    """Press Connect: the answer sends the browser to the authorize page."""
    response = browser.post("/accounting-sync/connect?company=default")
    assert response.status_code == 303
    return str(response.headers["location"])


def consent(authorize_url: str, decision: str = "allow", realm_id: str | None = None) -> str:
    """Press Authorize (or Deny) on the sandbox's consent page, for its default company or
    the one picked; returns the callback URL."""
    page = requests.get(authorize_url, timeout=10)
    assert page.status_code == 200 and "Authorize" in page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action
    fields = {
        name: html.unescape(value) for name, value in re.findall(r'name="(\w+)" value="([^"]*)"', page.text)
    }
    fields.pop("decision", None)
    if realm_id:
        fields["realm_id"] = realm_id
    base = "{0.scheme}://{0.netloc}".format(urlsplit(authorize_url))
    answer = requests.post(
        base + action.group(1), data={**fields, "decision": decision}, allow_redirects=False, timeout=10
    )
    assert answer.status_code in (302, 303)
    return str(answer.headers["location"])


def follow_back(browser: Browser, callback_url: str) -> Any:
    parts = urlsplit(callback_url)
    return browser.get(f"{parts.path}?{parts.query}")


def connect(browser: Browser, realm_id: str | None = None) -> Any:
    return follow_back(browser, consent(start_connect(browser), realm_id=realm_id))
