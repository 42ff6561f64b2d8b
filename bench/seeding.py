"""What a benchmark runs against: a throwaway database, the bench organisation's event, buyer tokens and secrets."""

from __future__ import annotations

import contextlib
import os
import secrets
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

import psycopg

from boxoffice.auth import Role, mint_token
from boxoffice.catalogue.rules import EventInput, TicketTypeInput, create_event, create_ticket_type
from boxoffice.db import Database
from boxoffice.models.types import utcnow

#: The server a throwaway database is created on (``postgres`` maintenance database, trust auth).
ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BENCH_ORG = "bench"


@dataclass(frozen=True)
class ThrowawayDb:
    """A database created for one run: its name, a libpq DSN (psql, pgbench) and the app's URL."""

    name: str
    dsn: str
    url: str


def _with_dbname(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


@contextlib.contextmanager
def throwaway_database(prefix: str = "boxoffice_bench", admin_url: str = ADMIN_URL) -> Iterator[ThrowawayDb]:
    """Create ``<prefix>_<pid>``, yield it, and drop it (forcing off any sessions) even on failure."""
    name = f"{prefix}_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = _with_dbname(admin_url, name)
    url = "postgresql+psycopg://" + dsn.split("://", 1)[1]
    try:
        yield ThrowawayDb(name=name, dsn=dsn, url=url)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_setting(dsn: str, name: str) -> str:
    """One ``SHOW`` value of the server (e.g. ``synchronous_commit``), for the report header."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(f"SHOW {name}").fetchone()
    return str(row[0]) if row else "?"


def new_secret() -> str:
    """A random secret (JWT, webhook signing) for one run's processes and the tokens the benchmark mints."""
    return secrets.token_urlsafe(32)


async def seed_event(url: str, ticket_types: Sequence[TicketTypeInput]) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """Create the bench organisation's event (30 days ahead, ZAR) with ``ticket_types`` through the services;
    returns the event id and the ticket type ids in order."""
    db = Database(url, pool_size=1)
    try:
        async with db.transaction() as session:
            start = utcnow() + timedelta(days=30)
            event = await create_event(
                session,
                BENCH_ORG,
                EventInput(name="Bench night", starts_at=start, ends_at=start + timedelta(hours=4), currency="ZAR"),
            )
            ids = [(await create_ticket_type(session, BENCH_ORG, event.id, tt)).id for tt in ticket_types]
            return event.id, ids
    finally:
        await db.dispose()


def buyer_tokens(secret: str, n: int) -> list[str]:
    """``n`` buyer tokens of the bench organisation, one per simulated buyer."""
    return [mint_token(secret, user=f"buyer-{i}", org=BENCH_ORG, role=Role.BUYER, ttl=7200) for i in range(n)]
