"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.converter import PayloadCodec

from boxoffice.api import codec_server, health, problems
from boxoffice.api.middleware import BodyLimit, RequestContext
from boxoffice.attendees import routes as attendees
from boxoffice.auth import operator_verifier
from boxoffice.books import routes as books
from boxoffice.catalogue import routes as catalogue
from boxoffice.checkout import routes as checkout
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.events import routes as events
from boxoffice.fulfilment import routes as fulfilment
from boxoffice.gate import routes as gate
from boxoffice.inventory import routes as inventory
from boxoffice.payments.providers import Providers
from boxoffice.refunds import routes as refunds
from boxoffice.sandbox import routes as sandbox
from boxoffice.storage import storage_from_url
from boxoffice.temporal import TemporalHandle, converter_for
from boxoffice.ticketing.keyring import KeyRing
from boxoffice.tracing import Tracing, process_tracing
from boxoffice.transfers import routes as transfers
from boxoffice.vouchers import routes as vouchers
from boxoffice.waitlist import routes as waitlist
from boxoffice.webhooks import routes as webhooks


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    temporal: Client | None = None,
    outbound: httpx.AsyncClient | None = None,
    providers: Providers | None = None,
    tracing: Tracing | None = None,
) -> FastAPI:
    """Build the app. ``db``, ``temporal``, the outbound HTTP client (the sandbox posts its webhooks with it)
    and ``providers`` may be injected (tests); otherwise they are made in the lifespan. ``tracing`` defaults to
    the process's (on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set); an injected ``temporal`` client brings its own
    interceptors."""
    tracing = tracing or process_tracing("boxoffice-api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned_db = db is None
        app.state.db = db or Database(settings.resolved_database_url, pool_size=settings.database_pool_size)
        app.state.temporal = TemporalHandle(
            settings.temporal_address,
            settings.temporal_namespace,
            temporal,
            interceptors=tracing.interceptors() if tracing else (),
            converter=converter_for(settings.payload_keys),
        )
        app.state.outbound = outbound or httpx.AsyncClient(timeout=httpx.Timeout(15, connect=5))
        app.state.providers = providers or Providers(settings)
        app.state.storage = storage_from_url(settings.resolved_storage_url, settings.s3_endpoint_url)
        assert settings.signing_key_file is not None
        app.state.keyring = KeyRing.load_or_create(settings.signing_key_file)
        try:
            yield
        finally:
            await app.state.storage.aclose()
            if owned_db:
                await app.state.db.dispose()
            if outbound is None:
                await app.state.outbound.aclose()
            if providers is None:
                await app.state.providers.aclose()
            if tracing is not None:
                tracing.flush()  # the spans still buffered, before the process leaves

    app = FastAPI(title="Boxoffice", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.known_orgs = set()
    problems.install(app)

    # Issue 11: the Temporal codec endpoint (/codec) decrypts payloads for operators, with CORS for the UI's origins.
    codec_server.install(
        app,
        codec=_payload_codec(settings),
        verify_operator=operator_verifier(settings.jwt_secret),
        allowed_origins=settings.ui_origins,
        namespace=settings.temporal_namespace,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)  # inside RequestContext: a 413 is counted
    app.add_middleware(RequestContext)

    app.include_router(gate.router)  # issue 9; first: POST /v1/scans is the hottest route at the doors
    for module in (health, books, catalogue, inventory, checkout, refunds, fulfilment, attendees, webhooks, sandbox):
        app.include_router(module.router)
    app.include_router(events.router)  # issue 13: event edits and cancellations
    app.include_router(vouchers.router)  # issue 13
    app.include_router(waitlist.router)  # issue 13: waiting lists (its lifespan tells them of seats given back)
    app.include_router(transfers.router)  # issue 13: ticket transfers
    if tracing is not None:
        tracing.instrument(app)  # issue 11: a server span per request, the parent of the workflow spans it starts
    return app


def _payload_codec(settings: Settings) -> PayloadCodec:
    codec = converter_for(settings.payload_keys).payload_codec
    assert codec is not None  # converter_for always encrypts
    return codec
