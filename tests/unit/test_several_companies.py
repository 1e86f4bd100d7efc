"""Several companies in one deployment: each gets its own DAGs and its own pool.

QBO's rate limits are per company, so a company's DAGs must call QBO only through that
company's pool, and airflow-init (scripts/deploy_init.py) must create one pool per company.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

from accounting_sync.config.companies import Company, company_from_dag_id, load_companies
from scripts.deploy_init import pool_definitions

DAGS = Path(__file__).resolve().parents[2] / "dags"
COMPANIES_YAML = """\
companies:
  - key: acme
    invoiced_conn_id: invoiced_acme
    quickbooks_conn_id: quickbooks_acme
  - key: globex
    invoiced_conn_id: invoiced_globex
    quickbooks_conn_id: quickbooks_globex
    pool_slots: 2
"""


@pytest.fixture
def two_companies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "companies.yaml"
    path.write_text(COMPANIES_YAML, encoding="utf-8")
    monkeypatch.setenv("ACCOUNTING_SYNC_COMPANIES_FILE", str(path))
    yield path


def test_two_companies_yield_distinct_dags_and_pools(two_companies: Path) -> None:
    dagbag = DagBag(dag_folder=str(DAGS))
    assert dagbag.import_errors == {}
    assert {"qbo_sync__acme", "qbo_sync__globex"} <= set(dagbag.dags)
    by_company: dict[str, set[str]] = {}
    for dag_id, dag in dagbag.dags.items():
        key = company_from_dag_id(dag_id)
        by_company.setdefault(key, set()).add(dag_id.split("__")[0])
        pools = {task.pool for task in dag.tasks} - {"default_pool"}
        assert pools == {f"quickbooks_api__{key}"}, dag_id
    assert set(by_company) == {"acme", "globex"}
    assert by_company["acme"] == by_company["globex"], "every company gets the same set of DAGs"


def test_deploy_init_creates_one_pool_per_company(two_companies: Path) -> None:
    assert pool_definitions() == {
        "quickbooks_api__acme": {
            "slots": 1,
            "description": "QuickBooks API calls of company acme",
            "include_deferred": False,
        },
        "quickbooks_api__globex": {
            "slots": 2,
            "description": "QuickBooks API calls of company globex",
            "include_deferred": False,
        },
    }


def test_the_default_company_keeps_the_plain_ids() -> None:
    default = Company(key="default")
    assert (default.dag_id("qbo_sync"), default.pool) == ("qbo_sync", "quickbooks_api")


def test_shipped_companies_file_serves_the_default_company_only() -> None:
    """The second company in include/companies.yaml is an example, commented out."""
    assert [company.key for company in load_companies()] == ["default"]
