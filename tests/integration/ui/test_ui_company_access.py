"""Per-company read access: each page and action asks Airflow's auth manager about that
company's DAGs or QuickBooks connection, not only "may view plugins".

The auth manager here is the simple auth manager with per-DAG and per-connection rights
for named users, as a deployment's FAB or Keycloak auth manager would grant them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.api_fastapi.app import _AuthManagerState
from airflow.api_fastapi.auth.managers.models.resource_details import (
    ConnectionDetails,
    DagAccessEntity,
    DagDetails,
)
from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from test_ui_syncs import SCHEDULED, record_run
from ui_support import Browser, FakeAirflow

from accounting_sync.store.facade import StateStore

COMPANIES = """\
companies:
  - key: default
  - key: globex
    quickbooks_conn_id: quickbooks_globex
    invoiced_conn_id: invoiced_globex
"""


class PerResourceAuthManager(SimpleAuthManager):
    """Named users get exactly the DAGs and connections listed for them; everyone else
    gets the simple auth manager's role rules."""

    dags: dict[str, set[str]] = {}
    connections: dict[str, set[str]] = {}

    def is_authorized_dag(
        self,
        *,
        method: Any,
        user: SimpleAuthManagerUser,
        access_entity: DagAccessEntity | None = None,
        details: DagDetails | None = None,
    ) -> bool:
        if user.username in self.dags:
            return method == "GET" and details is not None and details.id in self.dags[user.username]
        return super().is_authorized_dag(method=method, user=user, access_entity=access_entity, details=details)

    def is_authorized_connection(
        self, *, method: Any, user: SimpleAuthManagerUser, details: ConnectionDetails | None = None
    ) -> bool:
        if user.username in self.connections:
            return details is not None and details.conn_id in self.connections[user.username]
        return super().is_authorized_connection(method=method, user=user, details=details)


@pytest.fixture
def rights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[PerResourceAuthManager]]:
    companies = tmp_path / "companies.yaml"
    companies.write_text(COMPANIES, encoding="utf-8")
    monkeypatch.setenv("ACCOUNTING_SYNC_COMPANIES_FILE", str(companies))
    manager = PerResourceAuthManager()
    monkeypatch.setattr(_AuthManagerState, "instance", manager)
    PerResourceAuthManager.dags, PerResourceAuthManager.connections = {}, {}
    yield PerResourceAuthManager


@pytest.fixture
def as_user(sign_in: Callable[..., Browser], qbo: dict[str, Any], rights: Any) -> Callable[..., Browser]:
    """``as_user(name, dags=..., connections=...)``: a viewer with exactly those rights
    (one signed-in user at a time: each call signs the app's user in afresh)."""

    def browser(name: str, dags: set[str] = frozenset(), connections: set[str] = frozenset()) -> Browser:  # type: ignore[assignment]
        rights.dags[name] = set(dags)
        rights.connections[name] = set(connections)
        return sign_in("viewer", name)

    return browser


def companies_offered(page: str) -> list[str]:
    return re.findall(r'<option value="(\w+)"', page.split('name="company"', 1)[-1].split("</select>")[0])


PAGES = ["/accounting-sync/", "/accounting-sync/configure", "/accounting-sync/syncs", "/accounting-sync/syncs/table"]


@pytest.mark.parametrize("page", PAGES)
def test_a_company_the_user_may_not_read_is_refused_on_every_page(as_user: Callable[..., Browser], page: str) -> None:
    browser = as_user("ann", dags={"qbo_sync"})

    refused = browser.get(f"{page}?company=globex")
    allowed = browser.get(f"{page}?company=default")

    assert refused.status_code == 403
    assert "You may not read company 'globex'" in refused.text
    assert allowed.status_code == 200


def test_every_action_of_an_unreadable_company_is_refused(as_user: Callable[..., Browser]) -> None:
    browser = as_user("ann", dags={"qbo_sync"})

    for action in ("connect", "disconnect", "configure", "syncs/run", "syncs/auto"):
        response = browser.post(f"/accounting-sync/{action}?company=globex", {"flow": "sync"})
        assert response.status_code == 403, action


def test_the_selector_lists_only_readable_companies_and_the_default_is_the_first_of_them(
    as_user: Callable[..., Browser],
) -> None:
    page = as_user("gus", dags={"qbo_import__globex"}).get("/accounting-sync/")
    both = as_user("bea", dags={"qbo_sync"}, connections={"quickbooks_globex"}).get("/accounting-sync/")

    assert page.status_code == 200 and '?company=globex" aria-current="page"' in page.text
    assert companies_offered(page.text) == []  # one company: no selector at all
    assert companies_offered(both.text) == ["default", "globex"]


def test_a_user_who_may_read_no_company_gets_a_clear_refusal(as_user: Callable[..., Browser]) -> None:
    response = as_user("nobody").get("/accounting-sync/syncs")

    assert response.status_code == 403
    assert "You may not read any company here" in response.text


def test_stored_runs_of_a_dag_airflow_refuses_are_not_shown(
    as_user: Callable[..., Browser], store: StateStore, fake_airflow: FakeAirflow
) -> None:
    record_run(store)  # a qbo_sync run of the default company, with an error
    store.start_run("default", "qbo_import", "scheduled__2026-07-01T09:30:00+00:00")

    imports_only = as_user("ida", dags={"qbo_import"}).get("/accounting-sync/syncs").text
    by_connection = as_user("cal", connections={"quickbooks_default"})
    nothing = by_connection.get("/accounting-sync/syncs").text
    connection_page = by_connection.get("/accounting-sync/")
    syncs_table = as_user("sam", dags={"qbo_sync"}).get("/accounting-sync/syncs/table?company=default").text

    assert "scheduled__2026-07-01T09:30:00+00:00" in imports_only
    assert SCHEDULED not in imports_only and "INV-0007" not in imports_only
    assert 'id="control-sync"' not in imports_only and 'id="control-import"' in imports_only
    assert SCHEDULED not in nothing and "not shown" in nothing
    assert connection_page.status_code == 200
    assert SCHEDULED in syncs_table
