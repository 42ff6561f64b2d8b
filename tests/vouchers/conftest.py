"""Voucher tests: the shared PostgreSQL fixtures, plus an API over a fresh SQLite database (no Temporal) for the
redemption race on the embedded database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from boxoffice.api.app import create_app
from boxoffice.config import build_settings
from boxoffice.db import Database
from boxoffice.migrations import upgrade
from tests.harness import JWT_SECRET


@pytest.fixture
async def sqlite_api(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    url = f"sqlite:///{tmp_path / 'vouchers.db'}"
    upgrade(url)
    settings = build_settings(
        env="test", data_dir=tmp_path, database_url=url, jwt_secret=JWT_SECRET, temporal_address="127.0.0.1:1"
    )
    db = Database(url)
    app = create_app(settings, db=db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=60) as client:
            yield client, db
    await db.dispose()
