"""Benchmarks run against a throwaway PostgreSQL database and the real API process.

Each benchmark prints its figures beside a ceiling measured in the same run: ``python -m bench.holds`` (holds per
second beside pgbench, and an oversell check) and ``python -m bench.checkout`` (checkouts per second and latency
beside a no-op workflow of the checkout's Temporal shape, :mod:`bench.noop_checkout`).

Shared by both: :mod:`bench.processes` (the API, a Temporal dev server, any child process),
:mod:`bench.seeding` (a throwaway database, the bench organisation's event, buyer tokens) and
:mod:`bench.measurement` (CPU used by process groups, percentiles, tables).
"""
