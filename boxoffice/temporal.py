"""The Temporal client, connected once per process (lazily in the API, so it starts while Temporal is down)."""

from __future__ import annotations

import asyncio

from temporalio.client import Client
from temporalio.converter import DataConverter

from boxoffice.errors import ServiceUnavailable

# Every message is a plain dataclass (each flow's ``contract.py``), which Temporal's default JSON converter handles.
# The pydantic converter was measurably slower here: inside the workflow sandbox it builds a new pydantic
# TypeAdapter for every payload it decodes (its cache lives on a converter instance made per activation).
DATA_CONVERTER = DataConverter.default


async def connect(address: str, namespace: str) -> Client:
    return await Client.connect(address, namespace=namespace, data_converter=DATA_CONVERTER)


class TemporalHandle:
    """A lazily connected client: the API starts (and answers /readyz) even while Temporal is down."""

    def __init__(self, address: str, namespace: str, client: Client | None = None):
        self.address, self.namespace, self._client = address, namespace, client
        self._lock = asyncio.Lock()

    async def get(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        self._client = await asyncio.wait_for(connect(self.address, self.namespace), 5)
                    except Exception as exc:
                        raise ServiceUnavailable(
                            f"Temporal at {self.address} is unreachable", code="temporal_unavailable"
                        ) from exc
        return self._client

    async def healthy(self) -> bool:
        try:
            client = await self.get()
            return await asyncio.wait_for(client.service_client.check_health(), 3)
        except Exception:
            return False
