"""ASGI entry point for ``uvicorn boxoffice.api.main:app_from_env --factory`` (multi-process API)."""

from __future__ import annotations

from fastapi import FastAPI

from boxoffice.api.app import create_app
from boxoffice.config import settings_or_exit
from boxoffice.logging import configure_logging


def app_from_env() -> FastAPI:
    settings = settings_or_exit()
    configure_logging(json=settings.json_logs, level=settings.log_level)
    return create_app(settings)
