"""Helpers the hardening tests share: an app on SQLite, and settings with chosen per-buyer hold caps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from boxoffice.api.app import create_app
from boxoffice.config import Settings, build_settings
from boxoffice.db import Database
from boxoffice.migrations import upgrade
from tests.harness import JWT_SECRET


@asynccontextmanager
async def sqlite_app(
    tmp_path: Path, **overrides: object
) -> AsyncIterator[tuple[httpx.AsyncClient, Database, Settings]]:
    """The API on a fresh, migrated SQLite file (no Temporal), as ``make run`` keeps its data; its settings are
    the app's own, so a test may change them between requests."""
    url = f"sqlite:///{tmp_path / 'boxoffice.db'}"
    upgrade(url)
    settings = build_settings(
        env="test",
        data_dir=tmp_path,
        database_url=url,
        jwt_secret=JWT_SECRET,
        temporal_address="127.0.0.1:1",
        **overrides,
    )
    db = Database(url)
    app = create_app(settings, db=db)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=60) as client:
                yield client, db, settings
    finally:
        await db.dispose()
