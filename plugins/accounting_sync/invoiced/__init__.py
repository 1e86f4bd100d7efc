"""Invoiced: the hook and the API client."""
