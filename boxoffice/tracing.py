"""OpenTelemetry traces: one trace from an HTTP request through the workflow it starts to that workflow's activities.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set; then spans go over
OTLP/HTTP (protobuf) to that collector, configured by the standard variables only (``OTEL_SERVICE_NAME``,
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_TRACES_SAMPLER`` …). ``OTEL_SDK_DISABLED=true``
turns it off again.

- the API: FastAPI's instrumentation opens a server span per request (``Tracing.instrument``);
- the Temporal client of the API and of the worker: ``temporalio.contrib.opentelemetry.TracingInterceptor``
  (``Tracing.interceptors``) carries the span context in the workflow's headers, and the worker (which inherits
  its client's interceptors) opens workflow and activity spans under it, local activities included.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.contrib.opentelemetry import TracingInterceptor

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
PROTOCOL_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
# Probes and scrapes every few seconds would drown the traces that matter.
UNTRACED_URLS = "/healthz,/readyz,/metrics"


class TracingConfigError(ValueError):
    """The OTEL_* variables ask for something this build cannot do; the message names the variable."""


@dataclass(frozen=True)
class Tracing:
    """A tracer provider and what hangs off it: the Temporal interceptor and the FastAPI instrumentation."""

    provider: TracerProvider

    def interceptors(self) -> list[TracingInterceptor]:
        """For ``Client.connect(interceptors=…)``; workers built on that client trace workflows and activities."""
        return [TracingInterceptor(self.provider.get_tracer("boxoffice.temporal"))]

    def instrument(self, app: Any) -> None:
        """Open a server span for each request of ``app`` (a FastAPI app), except probes and scrapes."""
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=self.provider, excluded_urls=UNTRACED_URLS, exclude_spans=["receive", "send"]
        )

    def flush(self) -> None:
        """Export what is buffered now (the processes leave through ``os._exit``, which skips atexit hooks)."""
        self.provider.force_flush()

    def shutdown(self) -> None:
        """Export what is buffered and stop (at process exit)."""
        self.provider.shutdown()


def tracing_with(processor: SpanProcessor, service_name: str, environ: Mapping[str, str] = os.environ) -> Tracing:
    """Tracing whose spans go to ``processor`` (an OTLP exporter in production, an in-memory one in tests).
    ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` win over ``service_name``."""
    attributes = {} if environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
    provider = TracerProvider(resource=Resource.create(attributes))  # also reads OTEL_TRACES_SAMPLER
    provider.add_span_processor(processor)
    return Tracing(provider)


def tracing_from_env(service_name: str, environ: Mapping[str, str] = os.environ) -> Tracing | None:
    """Tracing over OTLP when an OTLP endpoint is configured, else None (tracing off, nothing imported or run).
    Raises ``TracingConfigError`` for a protocol other than ``http/protobuf``."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if not any(environ.get(name) for name in ENDPOINT_VARIABLES):
        return None
    for name in PROTOCOL_VARIABLES:
        protocol = environ.get(name)
        if protocol:
            if protocol != "http/protobuf":
                raise TracingConfigError(f"{name}={protocol}: only http/protobuf is supported (the collector's :4318)")
            break
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    # The endpoint as the specification derives it; headers, timeout, compression and certificate the exporter
    # reads from the OTEL_* variables itself.
    endpoint = environ.get(ENDPOINT_VARIABLES[0]) or environ[ENDPOINT_VARIABLES[1]].rstrip("/") + "/v1/traces"
    return tracing_with(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)), service_name, environ)


@functools.cache
def process_tracing(service_name: str) -> Tracing | None:
    """This process's tracing from the environment, built once (None when off). It also becomes the global tracer
    provider, so any other instrumented library joins the same traces."""
    tracing = tracing_from_env(service_name)
    if tracing is not None:
        trace.set_tracer_provider(tracing.provider)
    return tracing
