"""The Temporal client, connected once per process (lazily in the API, so it starts while Temporal is down)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client, Interceptor
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from boxoffice.errors import ServiceUnavailable

# Every message is a plain dataclass (each flow's ``contract.py``), which Temporal's default JSON converter handles.
# The pydantic converter was measurably slower here: inside the workflow sandbox it builds a new pydantic
# TypeAdapter for every payload it decodes (its cache lives on a converter instance made per activation).
DATA_CONVERTER = DataConverter.default


async def connect(
    address: str, namespace: str, *, interceptors: Sequence[Interceptor] = (), runtime: Runtime | None = None
) -> Client:
    """A client; ``interceptors`` (tracing) and ``runtime`` (the worker's SDK metrics, issue 11) are optional."""
    return await Client.connect(
        address, namespace=namespace, data_converter=DATA_CONVERTER, interceptors=interceptors, runtime=runtime
    )


class TemporalStartupError(Exception):
    """Temporal cannot serve this process: the message is one line naming the cause and the variable to check."""


class TemporalUnreachable(TemporalStartupError):
    """Nothing answers at the address (it may come back)."""


class NamespaceMissing(TemporalStartupError):
    """The server answers but the namespace does not exist (a configuration error: waiting will not help)."""


async def connect_checked(
    address: str,
    namespace: str,
    *,
    timeout: float = 10,
    interceptors: Sequence[Interceptor] = (),
    runtime: Runtime | None = None,
) -> Client:
    """A client whose server answers and whose namespace exists, or ``TemporalStartupError`` saying which is not
    so (a process entry point prints it as its one line instead of a traceback)."""
    try:
        client = await asyncio.wait_for(
            connect(address, namespace, interceptors=interceptors, runtime=runtime), timeout
        )
    except Exception as exc:
        raise TemporalUnreachable(
            f"Temporal is unreachable at {address} (BOXOFFICE_TEMPORAL_ADDRESS): {_first_line(exc)}"
        ) from None
    try:
        await asyncio.wait_for(
            client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace)), timeout
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise NamespaceMissing(
                f"the Temporal namespace {namespace!r} does not exist at {address} (BOXOFFICE_TEMPORAL_NAMESPACE)"
            ) from None
        raise TemporalStartupError(f"Temporal at {address} refused a request: {_first_line(exc)}") from None
    except TimeoutError:
        raise TemporalUnreachable(f"Temporal at {address} did not answer within {timeout:g}s") from None
    return client


def _first_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


class TemporalHandle:
    """A lazily connected client: the API starts (and answers /readyz) even while Temporal is down."""

    def __init__(
        self, address: str, namespace: str, client: Client | None = None, interceptors: Sequence[Interceptor] = ()
    ):
        self.address, self.namespace, self._client = address, namespace, client
        self.interceptors = interceptors
        self._lock = asyncio.Lock()

    async def get(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        self._client = await asyncio.wait_for(
                            connect(self.address, self.namespace, interceptors=self.interceptors), 5
                        )
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
