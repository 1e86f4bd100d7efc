"""Shared by both pipelines: the job of one run, cursors, the report, the state binding."""
