"""Configuration: ``companies`` (who this deployment serves, read by the DAG files),
``settings`` (the sync settings, defaults from ``include/mappings``) and ``connections``
(every Airflow connection lookup, and what the connections hold, validated)."""
