"""Local stand-in for the Invoiced REST API (see sandbox/README.md)."""
