"""Connect companies to their QuickBooks sandbox without the browser step (demo and tests).

For each company key given, asks the sandbox behind the company's QuickBooks connection
for a token pair (``POST /_sandbox/token``) and stores it, encrypted, in the state store,
exactly as the "Connect to QuickBooks" callback would. Always stores a fresh pair: the
sandbox keeps its data in memory, so after its restart an old token names a dead realm.

A restarted sandbox is a new demo company (new realm, new Invoiced account), so the script
then does what a user would choose on the Connection page: start afresh for that pair. The
previous pair's state is kept in the state store, never reused.

With ``--webhooks <Airflow URL>`` it also has both sandboxes deliver their webhooks to
that Airflow's Accounting Sync endpoints, signed with the secrets in the company's
connections (``webhook_verifier_token``, ``webhook_secret``), as someone setting up the
real services would in Intuit's developer portal and Invoiced's settings.

    python scripts/connect_sandbox.py [--webhooks http://127.0.0.1:8080] default [acme ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import requests

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"


def connect(company_key: str) -> str:
    """Store a sandbox token for the company; returns the realm id it belongs to."""
    from accounting_sync.common import binding, runtime
    from accounting_sync.store.facade import open_store
    company = runtime.company(company_key)
    store = open_store()
    hook = runtime.quickbooks_hook(company, store)
    config = hook.config()
    response = requests.post(f"{config.api_base}/_sandbox/token", json={}, timeout=30)
    response.raise_for_status()
    token = response.json()
    hook.token_manager(config=config).save(token, token["realm_id"])
    binding.start_afresh(store, company.key, str(token["realm_id"]), runtime.invoiced_client(company))
    return str(token["realm_id"])


def register_webhooks(company_key: str, airflow_url: str) -> list[str]:
    """Point both sandboxes of the company at the webhook endpoints; the sides registered."""
    from accounting_sync.common import runtime
    from accounting_sync.config.connections import invoiced_config, lookup_connection

    company = runtime.company(company_key)
    qbo = runtime.quickbooks_hook(company).config()
    invoiced = invoiced_config(lookup_connection(company.invoiced_conn_id))
    hooks = f"{airflow_url.rstrip('/')}/accounting-sync/webhooks"
    registered = []
    for side, sandbox, url, secret in (
        ("quickbooks", qbo.api_base, f"{hooks}/quickbooks", qbo.webhook_verifier_token),
        ("invoiced", invoiced.api_base, f"{hooks}/invoiced/{company.key}", invoiced.webhook_secret),
    ):
        if secret:  # without one the endpoint refuses every delivery
            response = requests.post(f"{sandbox}/_sandbox/webhooks", json={"url": url, "secret": secret}, timeout=30)
            response.raise_for_status()
            registered.append(side)
    return registered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("companies", nargs="+", metavar="COMPANY", help="company keys of include/companies.yaml")
    parser.add_argument("--webhooks", metavar="AIRFLOW_URL", help="deliver the sandboxes' webhooks to this Airflow")
    args = parser.parse_args()
    sys.path.insert(0, str(PLUGINS))
    for key in args.companies:
        print(f"company {key!r} connected to QuickBooks sandbox realm {connect(key)}", flush=True)
        if args.webhooks:
            sides = register_webhooks(key, args.webhooks) or ["none: no webhook secret in its connections"]
            print(f"company {key!r}: sandbox webhooks to {args.webhooks} ({', '.join(sides)})", flush=True)


if __name__ == "__main__":
    main()
