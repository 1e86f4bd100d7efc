"""Invoiced <-> QuickBooks Online sync for Apache Airflow.

One module per concern: ``state`` (the state store), ``settings`` and ``companies``
(configuration), ``connections`` (what the Airflow connections hold), ``hooks``
(the ``quickbooks`` and ``invoiced`` connection types, every connection lookup) with
``get_provider_info`` (their registration), ``tokens`` (OAuth2),
``ratelimit``, ``quickbooks`` and ``invoiced`` (API clients), ``transform`` (pandas),
``sync`` and ``importer`` (the two pipelines), ``report`` and ``ui``.
Heavy imports stay inside these modules so DAG files parse fast.
"""
