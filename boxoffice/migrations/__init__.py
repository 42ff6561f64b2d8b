"""Alembic migrations, applied by ``boxoffice db upgrade`` (and by ``boxoffice dev`` itself)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from boxoffice.db import is_sqlite, sync_url

HERE = Path(__file__).parent


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["database_url"] = sync_url(database_url)
    return cfg


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Apply migrations up to ``revision`` (every head by default); creates the SQLite file's folder if needed."""
    if is_sqlite(database_url):
        path = database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)
