"""The Temporal client, connected once per process (lazily in the API, so it starts while Temporal is down), and the
worker interceptor that labels every step of every run for operators (``RunLabels``).

Every client (the API's, the worker's, a CLI command's, a test's or a benchmark's) uses the data converter of
``BOXOFFICE_PAYLOAD_KEYS`` (``converter_for``): payloads are encrypted before they leave the process, and each
process decrypts what the others wrote. ``connect`` takes it as a required argument so no caller forgets it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from typing import Any

from temporalio import workflow
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client, Interceptor
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Interceptor as WorkerInterceptor
from temporalio.worker import (
    StartActivityInput,
    StartChildWorkflowInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from boxoffice.codec import clear_text, data_converter, parse_payload_keys
from boxoffice.errors import ServiceUnavailable


# Every message is a plain dataclass (each flow's ``contract.py``), which Temporal's default JSON converter handles.
# The pydantic converter was measurably slower here: inside the workflow sandbox it builds a new pydantic
# TypeAdapter for every payload it decodes (its cache lives on a converter instance made per activation).
@functools.cache
def converter_for(payload_keys: str) -> DataConverter:
    """The data converter for a ``BOXOFFICE_PAYLOAD_KEYS`` value: Temporal's default JSON converter, payloads
    encrypted with those keys. Built once per value and process (``ValueError`` if the value is malformed)."""
    return data_converter(parse_payload_keys(payload_keys))


async def connect(
    address: str,
    namespace: str,
    *,
    converter: DataConverter,
    interceptors: Sequence[Interceptor] = (),
    runtime: Runtime | None = None,
) -> Client:
    """A client encoding payloads with ``converter`` (``converter_for(settings.payload_keys)``); ``interceptors``
    (tracing) and ``runtime`` (the worker's SDK metrics) are optional."""
    return await Client.connect(
        address, namespace=namespace, data_converter=converter, interceptors=interceptors, runtime=runtime
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
    converter: DataConverter,
    timeout: float = 10,
    interceptors: Sequence[Interceptor] = (),
    runtime: Runtime | None = None,
) -> Client:
    """A client whose server answers and whose namespace exists, or ``TemporalStartupError`` saying which is not
    so (a process entry point prints it as its one line instead of a traceback)."""
    try:
        client = await asyncio.wait_for(
            connect(address, namespace, converter=converter, interceptors=interceptors, runtime=runtime), timeout
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
        self,
        address: str,
        namespace: str,
        client: Client | None = None,
        interceptors: Sequence[Interceptor] = (),
        *,
        converter: DataConverter,
    ):
        """``client``, when given, is used as it is (with its own converter and interceptors)."""
        self.address, self.namespace, self._client = address, namespace, client
        self.interceptors, self.converter = interceptors, converter
        self._lock = asyncio.Lock()

    async def get(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        self._client = await asyncio.wait_for(
                            connect(
                                self.address, self.namespace, converter=self.converter, interceptors=self.interceptors
                            ),
                            5,
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


# --- readable runs ------------------------------------------------------------------------------------------------


class RunLabels(WorkerInterceptor):
    """Every activity (local ones included) and child run a workflow starts carries a summary, so the Temporal UI's
    timeline and ``temporal workflow show`` name each step; a call without one is labelled with the activity's or
    workflow's name. Summaries and a child's static details become ``ClearText`` (readable without the codec, any
    e-mail address in them masked): workflows write only ids, amounts and times into them."""

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _LabelsInbound


class _LabelsInbound(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_LabelsOutbound(outbound))


class _LabelsOutbound(WorkflowOutboundInterceptor):
    def start_activity(self, input: StartActivityInput) -> workflow.ActivityHandle[Any]:
        input.summary = clear_text(input.summary or input.activity)
        return super().start_activity(input)

    def start_local_activity(self, input: StartLocalActivityInput) -> workflow.ActivityHandle[Any]:
        input.summary = clear_text(input.summary or input.activity)
        return super().start_local_activity(input)

    async def start_child_workflow(self, input: StartChildWorkflowInput) -> workflow.ChildWorkflowHandle[Any, Any]:
        input.static_summary = clear_text(input.static_summary or f"{input.workflow} {input.id}")
        if input.static_details:
            input.static_details = clear_text(input.static_details)
        return await super().start_child_workflow(input)
