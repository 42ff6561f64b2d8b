"""Waiting list tests run with short offers (a few seconds, so an offer not taken passes on while the test waits)
and a short re-check; the time-skipping tests give their runs 15-minute offers instead."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from boxoffice.config import Settings
from tests.conftest import BIN, DATA_CONVERTER
from tests.harness import settings_for

OFFER_SECONDS = 3


@pytest.fixture
def settings(pg_url: str, tmp_path: Path, task_queue: str) -> Settings:
    return settings_for(tmp_path, pg_url, task_queue, waitlist_offer_seconds=OFFER_SECONDS, waitlist_recheck_seconds=60)


@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of the test's own, whose clock starts at now: the line's holds and events are dated
    by the real clock, and the session's shared server may have skipped years ahead by now (other tests' waits)."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"), data_converter=DATA_CONVERTER
    )
    yield env
    await env.shutdown()
