"""Benchmarks run against a throwaway PostgreSQL database and the real API process.

Each benchmark prints its figures beside a ceiling measured in the same run (``python -m bench.holds``).
Shared helpers live in :mod:`bench.common`.
"""
