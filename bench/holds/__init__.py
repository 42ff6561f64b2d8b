"""Holds per second through the real API, beside the raw PostgreSQL ceiling, plus an oversell check.

Run: ``.venv/bin/python -m bench.holds`` (``--help`` for options). In one run it

1. creates a throwaway database (``boxoffice_bench_<pid>``), migrates it, seeds an event and ticket types;
2. measures the ceiling: pgbench (``-f`` custom script, ``-c`` clients, ``-j 2``, ``-T`` seconds) running the
   hold transaction the service runs (the same conditional ``UPDATE ticket_types … WHERE held + sold + q <=
   capacity`` and the same ``INSERT INTO holds``) on one hot ticket type row;
3. measures ``POST /v1/holds`` (quantity 1, buyer tokens) through ``boxoffice api`` with 1 and 2 uvicorn
   workers, from concurrent keep-alive httpx clients (optionally several client processes), counting 201s
   in a fixed window after a warm-up, and checks the API did not oversell (``held`` equals the sum of active
   holds and the 201s counted);
4. fires 3×N concurrent holds at a ticket type of capacity N: exactly N must succeed, the rest must be 409
   ``sold_out``, and the database must show ``held == N == Σ active holds`` and ``held + sold <= capacity``;
5. prints every figure beside its ceiling, with the ratio against the target, and drops the database.

The exit status is non-zero only when an oversell (or any inventory inconsistency) is found; a missed
throughput target prints MISS but does not fail the run.

Modules: ``__main__`` (options and the run), ``ceiling`` (pgbench), ``client`` (the lean HTTP client and the
requests), ``load`` (the load generator), ``oversell`` (the burst and the inventory), ``report`` (the tables).
"""
