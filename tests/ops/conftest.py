"""The deployed shape, started once for this folder's process tests: two ``boxoffice api`` processes, two
``boxoffice worker --queues checkout`` processes and one ``boxoffice worker --queues documents``, on the session's
PostgreSQL database and on a Temporal dev server of their own (the workers keep the namespace's Schedules, which must
not reach the shared server of the other tests). Each worker serves its /metrics and the SDK's metrics.

Tests here use an organisation of their own (``org``), so they need no emptied database (the API processes cache
the organisations they have seen, so the tables must not be emptied under them).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from boxoffice.checkout.contract import SEARCH_ATTRIBUTES
from boxoffice.config import Settings
from boxoffice.temporal import converter_for
from boxoffice.ticketing.keyring import KeyRing
from tests.harness import PAYLOAD_KEYS, settings_for
from tests.ops.processes import BIN, Metrics, Process, Stack, free_port, process_env


@dataclass
class WorkerEndpoints:
    process: Process
    metrics_url: str
    sdk_metrics_url: str

    async def scrape(self) -> tuple[Metrics, Metrics]:
        return await Metrics.scrape(self.metrics_url), await Metrics.scrape(self.sdk_metrics_url)


@dataclass
class Deployment:
    settings: Settings
    temporal: Client
    stack: Stack
    apis: list[httpx.AsyncClient]  # one client per API process
    api_urls: list[str]
    checkout_workers: list[WorkerEndpoints]
    documents_worker: WorkerEndpoints


@pytest.fixture(scope="package")
async def ops_temporal() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
        data_converter=converter_for(PAYLOAD_KEYS),
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="package")
async def deployment(
    pg_url: str, ops_temporal: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Deployment]:
    data_dir: Path = tmp_path_factory.mktemp("deployment")
    api_ports = [free_port(), free_port()]
    api_urls = [f"http://127.0.0.1:{p}" for p in api_ports]
    settings = settings_for(data_dir, pg_url, f"ops-{uuid.uuid4().hex[:8]}", public_url=api_urls[0])
    assert settings.signing_key_file is not None
    KeyRing.load_or_create(settings.signing_key_file)  # made once here, not raced by five processes
    stack = Stack(process_env(settings, ops_temporal.client.service_client.config.target_host), data_dir)
    ports = {name: (free_port(), free_port()) for name in ("worker-a", "worker-b", "documents")}
    try:
        started = await asyncio.gather(
            stack.api("api-1", api_ports[0]),
            stack.api("api-2", api_ports[1]),
            stack.worker("worker-a", "checkout", *ports["worker-a"]),
            stack.worker("worker-b", "checkout", *ports["worker-b"]),
            stack.worker("documents", "documents", *ports["documents"]),
        )
        endpoints = [
            WorkerEndpoints(p, f"http://127.0.0.1:{m}/metrics", f"http://127.0.0.1:{s}/metrics")
            for p, (m, s) in zip(started[2:], ports.values(), strict=True)
        ]
        async with (
            httpx.AsyncClient(base_url=api_urls[0], timeout=30) as a,
            httpx.AsyncClient(base_url=api_urls[1], timeout=30) as b,
        ):
            yield Deployment(settings, ops_temporal.client, stack, [a, b], api_urls, endpoints[:2], endpoints[2])
    except BaseException:
        print(stack.outputs())
        raise
    finally:
        await stack.stop()


@pytest.fixture
def org() -> str:
    """An organisation of this test's own."""
    return f"ops-{uuid.uuid4().hex[:10]}"
