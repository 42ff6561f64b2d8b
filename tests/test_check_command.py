"""``boxoffice check`` as a command: exit 0 when clean, 1 on any violation (each printed with its ids), 2 for an
event that does not exist; on PostgreSQL and on SQLite."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from temporalio.client import Client

from boxoffice.api.app import create_app
from boxoffice.db import Database
from boxoffice.migrations import upgrade
from boxoffice.payments.providers import Providers
from boxoffice.worker import build_workers
from tests.e2e_stack import free_socket, serve_app, url_of
from tests.harness import Tokens, settings_for
from tests.invariant_sale import sell

BOXOFFICE = Path(sys.executable).parent / "boxoffice"


async def boxoffice_check(database_url: str, data_dir: Path, *args: str) -> tuple[int, str]:
    """Run the real ``boxoffice check`` command; its exit status and output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env |= {"BOXOFFICE_ENV": "test", "BOXOFFICE_DATABASE_URL": database_url, "BOXOFFICE_DATA_DIR": str(data_dir)}
    proc = await asyncio.create_subprocess_exec(
        str(BOXOFFICE), "check", *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_boxoffice_check_on_postgres(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, worker: Any, pg_url: str, tmp_path: Path
) -> None:
    sale = await sell(api, tokens)
    status, out = await boxoffice_check(pg_url, tmp_path, "--settled")
    assert status == 0 and "0 violation(s)" in out and "2 of 15 seats sold" in out, out

    async with db.transaction() as s:
        await s.execute(text("UPDATE ticket_types SET held = held + 1 WHERE id = :tt"), {"tt": sale.ticket_type})
    status, out = await boxoffice_check(pg_url, tmp_path)
    assert status == 1, out
    assert f"held_mismatch: GA: held 2, active holds 1 [ticket_type={sale.ticket_type} event={sale.event}]" in out
    assert "1 violation(s)" in out
    # Scoped to the other event, nothing is wrong; an event that does not exist is a usage error.
    status, out = await boxoffice_check(pg_url, tmp_path, "--event", str(sale.other_event))
    assert status == 0 and "0 violation(s)" in out, out
    status, out = await boxoffice_check(pg_url, tmp_path, "--event", str(uuid.uuid4()))
    assert status == 2 and "no event" in out, out


@pytest.fixture
async def sqlite_stack(
    temporal: Client, tmp_path: Path, task_queue: str
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """The API over real HTTP and the worker, on a SQLite database; yields a client and the database URL."""
    url = f"sqlite:///{tmp_path / 'books.db'}"
    upgrade(url)
    sock = free_socket()
    settings = settings_for(tmp_path, url, task_queue, public_url=url_of(sock))
    db = Database(url)
    providers = Providers(settings)
    app = create_app(settings, db=db, temporal=temporal, providers=providers)
    workers = build_workers(temporal, db, settings, providers=providers)
    try:
        client = httpx.AsyncClient(base_url=url_of(sock), timeout=30)
        async with serve_app(app, sock), workers[0], workers[1], client:
            yield client, url
    finally:
        workers.close()
        await providers.aclose()
        await db.dispose()


async def test_boxoffice_check_on_sqlite(
    sqlite_stack: tuple[httpx.AsyncClient, str], tokens: Tokens, tmp_path: Path
) -> None:
    api, url = sqlite_stack
    sale = await sell(api, tokens)
    status, out = await boxoffice_check(url, tmp_path, "--settled")
    assert status == 0 and "0 violation(s)" in out, out

    db = Database(url)
    try:
        async with db.transaction() as s:
            await s.execute(text("UPDATE ticket_types SET sold = sold - 1 WHERE sold > 0"))
    finally:
        await db.dispose()
    status, out = await boxoffice_check(url, tmp_path)
    assert status == 1, out
    assert f"sold_mismatch: GA: sold 1, live tickets 2 [ticket_type={sale.ticket_type} event={sale.event}]" in out
