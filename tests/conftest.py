"""The test harness every suite shares.

- A real Temporal dev server per session (``temporal_env``), the time-skipping server for timer logic
  (``time_skipping_env``), both from binaries installed by pip (never downloaded).
- A fresh PostgreSQL database per session with the migrations applied, and clean data per test (``db``).
- The app on an async HTTP client (``api``) and token helpers (``tokens``); settings and tokens are built by
  ``tests/harness.py``, which tests that build a stack of their own use too.
- Through ``pytest_plugins``: real S3 (``tests/s3server.py``) and SMTP (``tests/smtpserver.py``) servers, and the
  API over real HTTP around each provider's fake (``tests/e2e_stack.py``).
- The ``os._exit`` guard: the Temporal bridge can abort a finalising interpreter (sdk-python #300), so the
  process leaves with pytest's own exit status once the summary is printed.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from boxoffice.api.app import create_app
from boxoffice.checkout.contract import SEARCH_ATTRIBUTES
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.migrations import upgrade
from boxoffice.models import metadata
from boxoffice.payments.providers import Providers
from boxoffice.temporal import converter_for
from tests.harness import PAYLOAD_KEYS, Tokens, settings_for

pytest_plugins = ["tests.s3server", "tests.smtpserver", "tests.e2e_stack"]

BIN = Path(sys.executable).parent
# Issue 11: every client of the suite encrypts payloads with the test key, as the settings of its apps and workers do.
DATA_CONVERTER = converter_for(PAYLOAD_KEYS)
PG_ADMIN_URL = os.environ.get("BOXOFFICE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

# --- exit guard -------------------------------------------------------------------------------------------

_exit_status: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if _exit_status and not os.environ.get("BOXOFFICE_TEST_NO_EXIT_GUARD"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[-1])


# --- PostgreSQL -------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh database for this session, migrated to head, dropped afterwards."""
    name = f"boxoffice_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    upgrade(url)
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def session_db(pg_url: str) -> AsyncIterator[Database]:
    db = Database(pg_url, pool_size=20)
    yield db
    await db.dispose()


async def truncate_all(db: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in reversed(metadata.sorted_tables))
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql(f"TRUNCATE {tables} CASCADE")


@pytest.fixture
async def db(session_db: Database) -> AsyncIterator[Database]:
    """The session database, emptied before each test."""
    await truncate_all(session_db)
    yield session_db


# --- Temporal ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
        data_converter=DATA_CONVERTER,
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"), data_converter=DATA_CONVERTER
    )
    yield env
    await env.shutdown()


@pytest.fixture
def temporal(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture
def task_queue() -> str:
    """A unique task queue per test, so workers of different tests never share work."""
    return f"tq-{uuid.uuid4().hex[:12]}"


# --- settings, app and tokens -----------------------------------------------------------------------------


@pytest.fixture
def settings(pg_url: str, tmp_path: Path, task_queue: str) -> Settings:
    return settings_for(tmp_path, pg_url, task_queue)


@pytest.fixture
def tokens() -> Tokens:
    return Tokens()


@pytest.fixture
async def loopback() -> AsyncIterator[LoopbackHTTP]:
    """An HTTP client whose requests reach this test's app in-process (the sandbox provider talks to it, and the
    sandbox posts its webhooks through it, exactly as over the network)."""
    holder = LoopbackHTTP()
    yield holder
    await holder.client.aclose()


class LoopbackHTTP:
    def __init__(self) -> None:
        self.app: Any = None

        async def forward(scope: Any, receive: Any, send: Any) -> None:
            await self.app(scope, receive, send)

        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=forward), base_url="http://testserver", timeout=30
        )


@pytest.fixture
def providers(settings: Settings, loopback: LoopbackHTTP) -> Providers:
    return Providers(settings, sandbox_http=loopback.client)


@pytest.fixture
async def app(
    settings: Settings, db: Database, temporal_env: WorkflowEnvironment, loopback: LoopbackHTTP, providers: Providers
) -> AsyncIterator[Any]:
    application = create_app(
        settings, db=db, temporal=temporal_env.client, outbound=loopback.client, providers=providers
    )
    loopback.app = application
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def api(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as client:
        yield client


@pytest.fixture
def activity_overrides() -> dict[str, Any]:
    """Tests of the workflow's branching override this to register fakes under real activity names."""
    return {}


@pytest.fixture
async def worker(
    temporal: Client, db: Database, settings: Settings, providers: Providers, activity_overrides: dict[str, Any]
) -> AsyncIterator[list[Worker]]:
    """The checkout and documents workers on this test's task queues, with the real activities."""
    from boxoffice.worker import build_workers

    workers = build_workers(temporal, db, settings, providers=providers, overrides=activity_overrides)
    async with workers[0], workers[1]:
        yield workers
    workers.close()
