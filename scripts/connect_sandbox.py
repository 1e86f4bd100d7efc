"""Connect companies to their QuickBooks sandbox without the browser step (demo and tests).

For each company key given, asks the sandbox behind the company's QuickBooks connection
for a token pair (``POST /_sandbox/token``) and stores it, encrypted, in the state store,
exactly as the "Connect to QuickBooks" callback would. Always stores a fresh pair: the
sandbox keeps its data in memory, so after its restart an old token names a dead realm.

A restarted sandbox is a new demo company (new realm, new Invoiced account), so the script
then does what a user would choose on the Connection page: start afresh for that pair. The
previous pair's state is kept in the state store, never reused.

    python scripts/connect_sandbox.py default [acme ...]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("companies", nargs="+", metavar="COMPANY", help="company keys of include/companies.yaml")
    args = parser.parse_args()
    sys.path.insert(0, str(PLUGINS))
    for key in args.companies:
        print(f"company {key!r} connected to QuickBooks sandbox realm {connect(key)}", flush=True)


if __name__ == "__main__":
    main()
