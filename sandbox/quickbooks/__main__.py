"""`python -m sandbox.quickbooks`: run the QBO sandbox in the foreground (used by `make run`)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from sandbox.common.serve import serve
from sandbox.quickbooks import profiles
from sandbox.quickbooks.app import create_app
from sandbox.quickbooks.config import SandboxConfig

ENV_PREFIX = "QBO_SANDBOX_"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox.quickbooks", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--seed-demo", action="store_true", help="start with the demo company loaded")
    profile_env = ENV_PREFIX + "COMPANY_PROFILE"
    parser.add_argument("--company-profile", type=profiles.preset, default=os.environ.get(profile_env),
                        help=f"{', '.join(profiles.PRESETS)} or a JSON object (default: ${profile_env} or us)")
    batch_env = ENV_PREFIX + "BATCH_MAX_ITEMS"
    parser.add_argument("--batch-max-items", type=int, default=os.environ.get(batch_env),
                        help=f"items per batch (default: ${batch_env} or 10)")
    for option in ("client-id", "client-secret", "realm-id", "company-name"):
        env = ENV_PREFIX + option.upper().replace("-", "_")
        parser.add_argument(f"--{option}", default=os.environ.get(env), help=f"default: ${env} or generated")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    explicit: dict[str, Any] = {
        name: value
        for name, value in {
            "client_id": args.client_id,
            "client_secret": args.client_secret,
            "realm_id": args.realm_id,
            "company_name": args.company_name,
        }.items()
        if value
    }
    if args.company_profile:
        explicit["company_profile"] = args.company_profile
    if args.batch_max_items:
        explicit["batch_max_items"] = args.batch_max_items
    config = SandboxConfig(seed_demo=args.seed_demo, **explicit)
    print(f"QBO sandbox on http://{args.host}:{args.port} (realm {config.realm_id}); "
          f"credentials: GET /_sandbox/info", flush=True)
    serve(create_app(config), args.host, args.port)


if __name__ == "__main__":
    main()
