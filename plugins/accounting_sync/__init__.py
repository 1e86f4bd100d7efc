"""Invoiced <-> QuickBooks Online sync for Apache Airflow.

The package reads as a map; each room says in its own docstring what it holds:

- ``quickbooks/`` and ``invoiced/``: one per external system, its Airflow hook (the
  ``quickbooks`` and ``invoiced`` connection types, registered by ``get_provider_info``)
  and its API client;
- ``qbo_sync/`` (Invoiced -> QBO) and ``qbo_import/`` (QBO -> Invoiced): one per pipeline,
  each a ``pipeline`` module whose steps the DAG files call, one module per step beside it;
- ``store/``: the state store, one small repository per table's concern behind the
  ``StateStore`` facade;
- ``common/``: what both pipelines share (the job of one run, cursors, values such as
  money and dates, the report, the flows' names, the state binding, the Airflow glue);
- ``config/``: companies, sync settings and what the Airflow connections hold;
- ``webhooks/``: the changes Invoiced and Intuit announce, checked and stored, and the
  trigger that turns them into an Airflow asset event, and the schedule that puts both
  DAGs on that asset or the hour;
- ``ui/``: the Accounting Sync pages, and the webhook endpoints beside them.

Dependencies point one way: ``config`` imports nothing of the package and
``common.values`` only the standard library; ``store``, ``quickbooks`` and ``invoiced``
build on them; the rest of ``common`` ties those together for one run; the pipelines,
``webhooks`` and ``ui`` sit on top (qbo_sync reads qbo_import's mark on the payments it
recorded, so it never writes them back). Heavy imports stay inside the modules, so DAG
files (which read ``config.companies``, ``common.flows`` and ``webhooks.schedule``) parse fast.
"""
