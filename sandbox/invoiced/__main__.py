"""``python -m sandbox.invoiced``: serve the Invoiced sandbox (default port 8200)."""

from __future__ import annotations

import argparse
import os

from sandbox.common.serve import serve
from sandbox.invoiced.app import create_app
from sandbox.invoiced.config import InvoicedConfig, generate_api_key

API_KEY_ENV = "INVOICED_SANDBOX_API_KEY"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox.invoiced", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument("--seed-demo", action="store_true", help="start with the deterministic demo account")
    parser.add_argument(
        "--api-key",
        default=os.environ.get(API_KEY_ENV),
        help=f"API key to accept (default: ${API_KEY_ENV}, else random; see GET /_sandbox/info)",
    )
    parser.add_argument("--concurrent", type=int, default=20, help="in-flight request limit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    config = InvoicedConfig(
        api_key=args.api_key or generate_api_key(),
        concurrent=args.concurrent,
        seed_demo=args.seed_demo,
    )
    print(f"Invoiced sandbox on http://{args.host}:{args.port} (credentials: GET /_sandbox/info)", flush=True)
    serve(create_app(config), args.host, args.port)


if __name__ == "__main__":
    main()
