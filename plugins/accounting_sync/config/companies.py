"""The companies one deployment serves, from ``include/companies.yaml``.

Kept free of Airflow and heavy imports: DAG files call it at parse time.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field

from accounting_sync.config.settings import include_dir

DEFAULT_COMPANY = "default"


class Company(BaseModel):
    key: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    invoiced_conn_id: str = "invoiced_default"
    quickbooks_conn_id: str = "quickbooks_default"
    pool_slots: int = Field(1, ge=1, le=10)
    settings: dict[str, Any] = {}

    def dag_id(self, base: str) -> str:
        """``qbo_sync`` for the default company, ``qbo_sync__<key>`` for the others."""
        return base if self.key == DEFAULT_COMPANY else f"{base}__{self.key}"

    def dag_args(self, base: str, doc_md: str | None, tags: list[str], schedule: Any) -> dict[str, Any]:
        """What every pipeline DAG shares: ``schedule`` (the DAG file builds it: this module
        stays free of Airflow), one run at a time, so a burst of webhook events becomes one
        run, no catch-up, paused until someone enables auto-sync, retries on transient failures."""
        return {
            "dag_id": self.dag_id(base),
            "schedule": schedule,
            "start_date": datetime(2026, 1, 1, tzinfo=timezone.utc),
            "catchup": False,
            "max_active_runs": 1,
            "is_paused_upon_creation": True,
            "doc_md": doc_md,
            "tags": ["accounting", "quickbooks", "invoiced", *tags, f"company:{self.key}"],
            "default_args": {"owner": "accounting", "retries": 2, "retry_delay": timedelta(minutes=2)},
        }

    @property
    def pool(self) -> str:
        """One pool per company: QBO's limits are per company, across all workers."""
        return "quickbooks_api" if self.key == DEFAULT_COMPANY else f"quickbooks_api__{self.key}"


def companies_file() -> Path:
    """``include/companies.yaml``, or the file named by ACCOUNTING_SYNC_COMPANIES_FILE."""
    override = os.environ.get("ACCOUNTING_SYNC_COMPANIES_FILE")
    return Path(override) if override else include_dir() / "companies.yaml"


def load_companies() -> list[Company]:
    """The companies of ``include/companies.yaml``; one ``default`` company when the
    deployment has no such file (a plain ``pip install`` serves one company)."""
    path = companies_file()
    if not path.exists() and not os.environ.get("ACCOUNTING_SYNC_COMPANIES_FILE"):
        return [Company.model_validate({"key": DEFAULT_COMPANY})]
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    companies = [Company.model_validate(entry) for entry in raw.get("companies") or []]
    keys = [company.key for company in companies]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate company keys in {path.name}: {keys}")
    return companies or [Company.model_validate({"key": DEFAULT_COMPANY})]


def company_from_dag_id(dag_id: str) -> str:
    match = re.match(r"^[a-z_]+?__(?P<key>[a-z0-9_]+)$", dag_id)
    return match.group("key") if match else DEFAULT_COMPANY
