"""Where the Accounting Sync pages live in Airflow, spelt once: the plugin registers them
there and the pages build their links from it. Kept free of imports: every Airflow
process loads the plugin."""

URL_PREFIX = "/accounting-sync"
"""Where the API server mounts the pages' app."""
UI_ROUTE = "accounting-sync"
"""The Airflow UI's route of the navigation entry (``/plugin/<route>``)."""
CALLBACK = "/callback"
"""The OAuth redirect path under ``URL_PREFIX``, registered on the Intuit app."""
