"""The Accounting Sync pages inside the Airflow UI (an Airflow 3 FastAPI plugin)."""
