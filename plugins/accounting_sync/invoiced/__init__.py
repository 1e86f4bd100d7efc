"""Invoiced: ``hook`` (the ``invoiced`` connection type, on the HTTP provider) and
``client`` (the API: paged listings that carry the server's clock, idempotent writes
read back when an answer is lost)."""
