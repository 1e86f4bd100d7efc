"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from tests.e2e.import_harness import import_boxes, pipelines  # noqa: F401
