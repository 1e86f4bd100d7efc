"""Airflow hooks for the two APIs, registered as the ``quickbooks`` and ``invoiced``
connection types by the package's provider entry point (``get_provider_info``).

Every connection the pipeline reads, in a task, in the Accounting Sync pages or in a
script, is read through :func:`accounting_sync.hooks.base.lookup_connection`.
"""

from __future__ import annotations
