"""Benchmarks. Each prints a JSON summary; `make bench` runs them all."""
