"""Configuration: companies, sync settings and what the Airflow connections hold."""
