"""Both sandboxes started in-process, and a qbo_sync job wired to them.

Tests drive the pipeline through the same functions the DAG tasks call, against the
sandboxes over real HTTP, with a real state store.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests

from accounting_sync.common.job import SyncJob
from accounting_sync.config.connections import InvoicedConfig, QuickBooksConfig, RateLimits
from accounting_sync.invoiced.client import InvoicedClient
from accounting_sync.quickbooks.oauth import TokenManager
from accounting_sync.store.facade import StateStore
from sandbox.common.serve import running_server
from sandbox.invoiced.app import create_app as create_invoiced
from sandbox.invoiced.config import InvoicedConfig as InvoicedSandboxConfig
from sandbox.quickbooks.app import create_app as create_quickbooks
from sandbox.quickbooks.config import SandboxConfig as QuickBooksSandboxConfig


@dataclass
class Sandboxes:
    qbo_url: str
    invoiced_url: str
    qbo_info: dict[str, Any]
    invoiced_info: dict[str, Any]

    @classmethod
    def started(cls, qbo_url: str, invoiced_url: str) -> Sandboxes:
        """The sandboxes answering at these URLs, with what they say of themselves."""
        return cls(
            qbo_url,
            invoiced_url,
            requests.get(f"{qbo_url}/_sandbox/info", timeout=10).json(),
            requests.get(f"{invoiced_url}/_sandbox/info", timeout=10).json(),
        )

    @property
    def realm_id(self) -> str:
        return str(self.qbo_info["realm_id"])

    def qbo_config(self, **limits: Any) -> QuickBooksConfig:
        return QuickBooksConfig(
            api_base=self.qbo_url,
            client_id=self.qbo_info["client_id"],
            client_secret=self.qbo_info["client_secret"],
            authorize_url=f"{self.qbo_url}/connect/oauth2",
            token_url=f"{self.qbo_url}/oauth2/v1/tokens/bearer",
            revoke_url=f"{self.qbo_url}/oauth2/v1/tokens/revoke",
            timeout=10,
            limits=RateLimits(**limits),
            environment="local",
        )

    def invoiced_config(self) -> InvoicedConfig:
        return InvoicedConfig(api_base=self.invoiced_url, api_key=self.invoiced_info["api_key"], timeout=10)

    def reset(self, seed_invoiced: bool = True, seed_qbo: bool = False) -> None:
        requests.post(f"{self.qbo_url}/_sandbox/{'seed' if seed_qbo else 'reset'}", timeout=30).raise_for_status()
        requests.post(f"{self.invoiced_url}/_sandbox/{'seed' if seed_invoiced else 'reset'}", timeout=30).raise_for_status()

    def connect(self, store: StateStore, company: str = "default", realm_id: str | None = None) -> TokenManager:
        """Store a token as the Connect callback would, for the default realm or another."""
        token = requests.post(f"{self.qbo_url}/_sandbox/token", json={"realm_id": realm_id}, timeout=10).json()
        manager = TokenManager(store, company, self.qbo_config())
        manager.save(token, token["realm_id"])
        return manager

    def qbo(
        self, path: str, method: str = "GET", body: Any = None, realm: str | None = None, **params: Any
    ) -> Any:
        """Read (or, as someone working in QBO would, write) through the sandbox's public API."""
        realm = realm or self.realm_id
        token = requests.post(f"{self.qbo_url}/_sandbox/token", json={"realm_id": realm}, timeout=10).json()
        response = requests.request(
            method,
            f"{self.qbo_url}/v3/company/{realm}/{path}",
            params=params,
            json=body,
            headers={"Authorization": f"Bearer {token['access_token']}", "Accept": "application/json"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def qbo_rows(self, entity: str, where: str = "", realm: str | None = None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        start = 1
        clause = f" WHERE {where}" if where else ""
        while True:
            query = f"SELECT * FROM {entity}{clause} STARTPOSITION {start} MAXRESULTS 1000"
            page = self.qbo("query", realm=realm, query=query)
            batch = page["QueryResponse"].get(entity, [])
            rows.extend(batch)
            if len(batch) < 1000:
                return rows
            start += 1000

    def invoiced(self, path: str, **params: Any) -> Any:
        response = requests.get(
            f"{self.invoiced_url}{path}", params=params, auth=(self.invoiced_info["api_key"], ""), timeout=30
        )
        response.raise_for_status()
        return response.json()

    def invoiced_all(self, path: str, **params: Any) -> list[dict[str, Any]]:
        client = InvoicedClient(self.invoiced_config())
        return list(client.iter_list(path, params))

    def stats(self, which: str) -> dict[str, Any]:
        url = self.qbo_url if which == "qbo" else self.invoiced_url
        return dict(requests.get(f"{url}/_sandbox/stats", timeout=10).json())

    def reset_stats(self) -> None:
        for url in (self.qbo_url, self.invoiced_url):
            requests.post(f"{url}/_sandbox/stats/reset", timeout=10).raise_for_status()

    def qbo_clock(self, **move: Any) -> None:
        """Move the QBO company's clock forward (`advance_seconds` or `now`)."""
        requests.post(f"{self.qbo_url}/_sandbox/clock", json=move, timeout=10).raise_for_status()

    def invoiced_clock(self, **move: Any) -> None:
        """Move the Invoiced account's clock (`advance_seconds` or `now`): idempotency keys
        expire and invoices fall past due on it."""
        requests.post(f"{self.invoiced_url}/_sandbox/clock", json=move, timeout=10).raise_for_status()

    def faults(self, which: str, **config: Any) -> None:
        url = self.qbo_url if which == "qbo" else self.invoiced_url
        requests.post(f"{url}/_sandbox/faults", json=config, timeout=10).raise_for_status()


API_REFERENCE_BATCH = 30
"""Items per batch in the suite's QBO: Intuit's API reference says 30, its learn page 10
(the sandbox's default). At 10 the demo account's first sync needs about 40 batches, and
QBO allows 40 a minute, so every first sync would wait a minute; tests of the 10-item
reading (tests/e2e/test_qbo_realism.py) ask for it."""


@contextlib.contextmanager
def sandboxes(
    qbo_config: QuickBooksSandboxConfig | None = None, invoiced_config: InvoicedSandboxConfig | None = None
) -> Iterator[Sandboxes]:
    qbo_config = qbo_config or QuickBooksSandboxConfig(batch_max_items=API_REFERENCE_BATCH)
    with running_server(create_quickbooks(qbo_config)) as qbo_url, running_server(
        create_invoiced(invoiced_config)
    ) as invoiced_url:
        yield Sandboxes.started(qbo_url, invoiced_url)


def sync_job(
    boxes: Sandboxes,
    store: StateStore,
    run_id: str,
    company: str = "default",
    dry_run: bool = False,
    settings: dict[str, Any] | None = None,
    **limits: Any,
) -> SyncJob:
    """A job bound as the DAG's tasks bind it (the pair the connections reach now)."""
    return SyncJob.bind(
        store,
        company,
        InvoicedClient(boxes.invoiced_config()),
        boxes.qbo_config(**limits),
        company_settings=settings,
        dag_id="qbo_sync",
        run_id=run_id,
        dry_run=dry_run,
    )


def run_sync(job: SyncJob, **extract_args: Any) -> tuple[dict[str, dict[str, int]], Exception | None]:
    """extract -> transform -> load -> report, as the DAG runs them; returns the counts and
    the report's failure (None when every record synced)."""
    from accounting_sync.qbo_sync import pipeline as sync

    sync.extract(job, **extract_args)
    sync.transform(job)
    counts = sync.load(job)
    try:
        sync.report(job)
    except sync.SyncFailed as failure:
        return counts, failure
    return counts, None
