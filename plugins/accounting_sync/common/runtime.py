"""Glue between Airflow tasks and the pipelines: builds a job from a task's context.

The pipelines' task entry points build their job here; the pages and scripts find a
company's clients here.
"""

from __future__ import annotations

import logging
from typing import Any

from accounting_sync.common.binding import active_scope_key
from accounting_sync.common.job import SyncJob
from accounting_sync.config.companies import Company, load_companies
from accounting_sync.config.settings import SyncSettings, resolve_settings
from accounting_sync.invoiced.client import InvoicedClient
from accounting_sync.invoiced.hook import InvoicedHook
from accounting_sync.quickbooks.client import QuickBooksClient
from accounting_sync.quickbooks.hook import QuickBooksHook
from accounting_sync.store.bindings import StateHeld
from accounting_sync.store.facade import StateStore, open_store

log = logging.getLogger(__name__)


def company(key: str) -> Company:
    for candidate in load_companies():
        if candidate.key == key:
            return candidate
    raise LookupError(f"company {key!r} is not listed in include/companies.yaml")


def settings_for(store: StateStore, company: Company) -> SyncSettings:
    """The settings of the state the company is bound to now."""
    return resolve_settings(company.settings, store.get_settings(active_scope_key(store, company.key)))


def quickbooks_hook(company: Company, store: StateStore | None = None) -> QuickBooksHook:
    """The company's QuickBooks connection and tokens (tasks, pages and scripts alike)."""
    return QuickBooksHook(company.quickbooks_conn_id, company=company.key, store=store)


def quickbooks_client(store: StateStore, company: Company) -> QuickBooksClient:
    return quickbooks_hook(company, store).get_conn()


def invoiced_client(company: Company) -> InvoicedClient:
    return InvoicedHook(company.invoiced_conn_id).get_client()


def sync_job(company_key: str, context: dict[str, Any], with_qbo: bool = True) -> SyncJob:
    """The task's job; a held company fails the task at once (retrying cannot help: a
    person has to choose on the Connection page)."""
    entry = company(company_key)
    params = context.get("params") or {}
    try:
        return SyncJob.bind(
            open_store(),
            entry.key,
            invoiced_client(entry),
            quickbooks_hook(entry).config() if with_qbo else None,
            company_settings=entry.settings,
            dag_id=context["dag"].dag_id,
            run_id=context["run_id"],
            dry_run=bool(params.get("dry_run")),
        )
    except StateHeld as held:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(str(held)) from None
