"""Webhooks in: Invoiced and Intuit announce changes; the company's DAG runs soon after."""
