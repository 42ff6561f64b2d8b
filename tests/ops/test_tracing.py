"""Traces: one trace from ``POST /v1/checkouts`` through the checkout run to each of its activities, and tracing off
unless an OTLP endpoint is configured."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.testing import WorkflowEnvironment

from boxoffice.api.app import create_app
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.payments.providers import Providers
from boxoffice.temporal import connect, converter_for
from boxoffice.tracing import TracingConfigError, tracing_from_env, tracing_with
from boxoffice.worker import build_workers
from tests.checkout_helpers import checkout, hold, press, setup_sale, wait_order
from tests.conftest import LoopbackHTTP
from tests.harness import Tokens

STEPS = ("open_order", "initiate_payment", "verify_payment", "complete_order", "start_fulfillment")


def _by_id(spans: Sequence[ReadableSpan]) -> dict[int, ReadableSpan]:
    return {s.context.span_id: s for s in spans if s.context is not None}


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    """The names of ``span``'s parents, nearest first, as far as they were exported."""
    names = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


async def test_one_trace_from_the_request_to_the_activities(
    settings: Settings,
    db: Database,
    temporal_env: WorkflowEnvironment,
    loopback: LoopbackHTTP,
    providers: Providers,
    tokens: Tokens,
) -> None:
    exporter = InMemorySpanExporter()
    tracing = tracing_with(SimpleSpanProcessor(exporter), "boxoffice-test")
    # The API's and the worker's client, as the processes make them: with the tracing interceptor.
    client = await connect(
        temporal_env.client.service_client.config.target_host,
        "default",
        converter=converter_for(settings.payload_keys),
        interceptors=tracing.interceptors(),
    )
    app = create_app(settings, db=db, temporal=client, outbound=loopback.client, providers=providers, tracing=tracing)
    loopback.app = app
    workers = build_workers(client, db, settings, providers=providers)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        workers[0],
        workers[1],
        httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as api,
    ):
        _event, tt = await setup_sale(api, tokens)
        hold_id = await hold(api, tokens, tt["id"])
        r = await checkout(api, tokens, [hold_id])
        assert r.status_code == 201, r.text
        order_id = r.json()["order_id"]
        assert (await press(api, r.json()["payment_url"], "pay")).status_code == 303
        done = await wait_order(api, tokens.buyer(), order_id, lambda o: o["status"] == "fulfilled")
        assert done["status"] == "fulfilled"
    workers.close()

    spans = exporter.get_finished_spans()
    posts = [s for s in spans if s.name == "POST /v1/checkouts" and s.kind == SpanKind.SERVER]
    assert len(posts) == 1, [s.name for s in spans]
    root = posts[0]
    assert root.parent is None and root.context is not None
    in_trace = [s for s in spans if s.context is not None and s.context.trace_id == root.context.trace_id]
    names = {s.name for s in in_trace}
    by_id = _by_id(in_trace)

    # The API's request starts the run (update-with-start) under its own span, the run's spans hang below it,
    # and so does every activity of the saga (local ones included), across the payment's signal.
    assert "StartUpdateWithStartWorkflow:CheckoutWorkflow" in names, sorted(names)
    run = next(s for s in in_trace if s.name == "RunWorkflow:CheckoutWorkflow")
    assert _ancestors(run, by_id)[-1] == "POST /v1/checkouts"
    for step in STEPS:
        ran = [s for s in in_trace if s.name == f"RunActivity:{step}"]
        assert ran, (step, sorted(names))  # verify_payment may also have polled before the Pay
        for span in ran:
            chain = _ancestors(span, by_id)
            assert chain[0] == f"StartActivity:{step}" and chain[-1] == "POST /v1/checkouts", chain
    # Fulfilment is a run of its own, started by an activity of this trace: it joins the same trace.
    assert "RunWorkflow:FulfillmentWorkflow" in names, sorted(names)


def test_tracing_is_off_unless_an_otlp_endpoint_is_set() -> None:
    assert tracing_from_env("boxoffice-api", {}) is None
    assert tracing_from_env("boxoffice-api", {"OTEL_SERVICE_NAME": "x", "OTEL_TRACES_SAMPLER": "always_on"}) is None
    on = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    tracing = tracing_from_env("boxoffice-api", on)
    assert tracing is not None
    assert tracing.provider.resource.attributes["service.name"] == "boxoffice-api"
    tracing.shutdown()
    assert tracing_from_env("boxoffice-api", {**on, "OTEL_SDK_DISABLED": "true"}) is None
    named = tracing_from_env("boxoffice-api", {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"})
    assert named is not None
    named.shutdown()
    with pytest.raises(TracingConfigError, match="OTEL_EXPORTER_OTLP_PROTOCOL=grpc"):
        tracing_from_env("boxoffice-api", {**on, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """An OTLP/HTTP collector on 127.0.0.1 that keeps what it is sent: (its URL, [(path, body)])."""
    received: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def test_spans_reach_the_configured_collector(collector: tuple[str, list[tuple[str, bytes]]]) -> None:
    url, received = collector
    tracing = tracing_from_env("boxoffice-worker", {"OTEL_EXPORTER_OTLP_ENDPOINT": url})
    assert tracing is not None
    with tracing.provider.get_tracer("test").start_as_current_span("a step"):
        pass
    tracing.flush()
    tracing.shutdown()
    assert [path for path, _ in received] == ["/v1/traces"]
    request = ExportTraceServiceRequest.FromString(received[0][1])
    (resource,) = request.resource_spans
    attributes = {a.key: a.value.string_value for a in resource.resource.attributes}
    assert attributes["service.name"] == "boxoffice-worker"
    assert [span.name for scope in resource.scope_spans for span in scope.spans] == ["a step"]
