"""Provider metadata, read by Airflow through the ``apache_airflow_provider`` entry point.

Registers the ``quickbooks`` and ``invoiced`` connection types with their form fields.
Airflow 3.2+ builds the Connections form from ``conn-fields`` and ``ui-field-behaviour``
here, without importing the hooks (their ``get_connection_form_widgets`` methods are
deprecated), so this module must stay free of imports. The field names are the extras'
keys the hooks validate (``connections.QuickBooksExtra`` / ``InvoicedExtra``).
"""

from __future__ import annotations

from typing import Any

PACKAGE_NAME = "invoiced-qbo-airflow"


def _secret(label: str, description: str) -> dict[str, Any]:
    """A password-style field: Airflow masks it in the form and in logs."""
    return {"label": label, "description": description, "schema": {"type": ["string", "null"], "format": "password"}}


def _integer(label: str, description: str, minimum: int = 1) -> dict[str, Any]:
    return {"label": label, "description": description, "schema": {"type": ["integer", "null"], "minimum": minimum}}


QUICKBOOKS_FIELDS: dict[str, Any] = {
    "environment": {
        "label": "Environment",
        "description": "Which Intuit API the app's keys belong to: production, or Intuit's developer sandbox "
        "(both talk to intuit.com only); local: a stand-in such as this project's sandbox, at the host given.",
        "schema": {"type": "string", "enum": ["production", "sandbox", "local"], "default": "production"},
    },
    "redirect_uri": {
        "label": "Redirect URI",
        "description": (
            "The Accounting Sync callback registered on the Intuit app, "
            "e.g. https://<airflow host>/accounting-sync/callback. Empty: this Airflow's own URL."
        ),
        "schema": {"type": ["string", "null"]},
    },
    "timeout": _integer("Timeout (seconds)", "How long one QuickBooks request may take. Default 60."),
    "rate_limit_requests": _integer(
        "Rate limit: requests per minute", "Requests per minute to one QuickBooks company. Default 500 (Intuit's limit)."
    ),
    "rate_limit_batches": _integer(
        "Rate limit: batch requests per minute", "Batch requests per minute to one company. Default 40 (Intuit's limit)."
    ),
    "rate_limit_concurrent": _integer(
        "Rate limit: concurrent requests", "Requests in flight at once to one company. Default 10 (Intuit's limit)."
    ),
    "webhook_verifier_token": _secret(
        "Webhook verifier token",
        "The Intuit app's verifier token (developer portal > Webhooks): checks the intuit-signature of the "
        "events Intuit sends to /accounting-sync/webhooks/quickbooks. Empty: QuickBooks webhooks are refused.",
    ),
}

INVOICED_FIELDS: dict[str, Any] = {
    "timeout": _integer("Timeout (seconds)", "How long one Invoiced request may take. Default 60."),
    "concurrency": _integer("Concurrent requests", "Invoiced requests in flight at once. Default 5."),
    "webhook_secret": _secret(
        "Webhook secret",
        "Settings > Developers > Webhooks on Invoiced: checks the X-Invoiced-Signature of the events Invoiced "
        "sends to /accounting-sync/webhooks/invoiced/<company key>. Empty: Invoiced webhooks are refused.",
    ),
}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": PACKAGE_NAME,
        "name": "Accounting Sync (Invoiced and QuickBooks Online)",
        "description": "Hooks and connection types of the sync between Invoiced and QuickBooks Online.",
        "integrations": [
            {"integration-name": "QuickBooks Online", "external-doc-url": "https://developer.intuit.com/"},
            {"integration-name": "Invoiced", "external-doc-url": "https://developer.invoiced.com/"},
        ],
        "hooks": [
            {"integration-name": "QuickBooks Online", "python-modules": ["accounting_sync.quickbooks.hook"]},
            {"integration-name": "Invoiced", "python-modules": ["accounting_sync.invoiced.hook"]},
        ],
        "connection-types": [
            {
                "connection-type": "quickbooks",
                "hook-class-name": "accounting_sync.quickbooks.hook.QuickBooksHook",
                "hook-name": "QuickBooks Online",
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "port"],
                    "relabeling": {"login": "Client ID", "password": "Client secret"},
                    "placeholders": {
                        "login": "Client ID of the Intuit app (Keys & credentials)",
                        "password": "Client secret of the Intuit app",
                    },
                },
                "conn-fields": QUICKBOOKS_FIELDS,
            },
            {
                "connection-type": "invoiced",
                "hook-class-name": "accounting_sync.invoiced.hook.InvoicedHook",
                "hook-name": "Invoiced",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login"],
                    "relabeling": {"host": "API URL", "password": "API key"},
                    "placeholders": {"host": "https://api.invoiced.com", "password": "Settings > Developers > API keys"},
                },
                "conn-fields": INVOICED_FIELDS,
            },
        ],
    }
