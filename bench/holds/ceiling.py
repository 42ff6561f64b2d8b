"""The raw PostgreSQL ceiling of ``bench.holds``: pgbench running the hold transaction the service runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass

from bench.seeding import BENCH_ORG

PGBENCH = shutil.which("pgbench") or "/usr/bin/pgbench"


def pgbench_script(event_id: uuid.UUID, ticket_type_id: uuid.UUID, *, with_select: bool = False) -> str:
    """The hold transaction as a pgbench script: the service's conditional UPDATE and INSERT, committed.

    ``with_select`` adds the service's first statement too (the ticket type ⋈ event read), to show what
    the full three-statement transaction costs the database alone.
    """
    tt, ev = f"'{ticket_type_id}'", f"'{event_id}'"
    select = (
        "SELECT t.organization_id, t.event_id, t.max_per_order, t.sales_start, t.sales_end, e.ends_at "
        f"FROM ticket_types t JOIN events e ON e.id = t.event_id WHERE t.id = {tt};\n"
    )
    return (
        "\\set q 1\n"
        "BEGIN;\n"
        + (select if with_select else "")
        + f"UPDATE ticket_types SET held = held + :q WHERE id = {tt} AND held + sold + :q <= capacity RETURNING id;\n"
        "INSERT INTO holds (id, organization_id, event_id, ticket_type_id, user_id, quantity, status, expires_at, "
        "created_at, order_id, ended_at) "
        f"VALUES (gen_random_uuid(), '{BENCH_ORG}', {ev}, {tt}, 'pgbench-' || :client_id, :q, 'active', "
        "now() + interval '600 seconds', now(), NULL, NULL);\n"
        "COMMIT;\n"
    )


@dataclass(frozen=True)
class PgbenchOptions:
    """pgbench's ``-c``, ``-j``, ``-T`` and ``-M``."""

    clients: int = 8
    threads: int = 2
    seconds: int = 10
    protocol: str = "prepared"

    @property
    def label(self) -> str:
        return f"pgbench -c{self.clients} -j{self.threads} -T{self.seconds} -M {self.protocol}"


@dataclass(frozen=True)
class PgbenchResult:
    tps: float
    latency_ms: float
    transactions: int
    failed: int
    output: str


def run_pgbench(dsn: str, script: str, options: PgbenchOptions) -> PgbenchResult:
    """Run a custom pgbench script (``-f``, no initialisation) and parse tps and mean latency."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", prefix="bench-", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        cmd = [
            PGBENCH,
            "-n",  # no vacuum of pgbench's own tables (we have none)
            "-f",
            path,
            "-c",
            str(options.clients),
            "-j",
            str(options.threads),
            "-T",
            str(options.seconds),
            "-M",
            options.protocol,
            dsn,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    finally:
        os.unlink(path)
    out = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed ({done.returncode}):\n{out}")
    tps = re.search(r"tps = ([\d.]+) \((?:without|excluding)", out)
    lat = re.search(r"latency average = ([\d.]+) ms", out)
    txs = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if tps is None:
        raise RuntimeError(f"could not parse pgbench output:\n{out}")
    return PgbenchResult(
        tps=float(tps.group(1)),
        latency_ms=float(lat.group(1)) if lat else float("nan"),
        transactions=int(txs.group(1)) if txs else 0,
        failed=int(failed.group(1)) if failed else 0,
        output=out,
    )
