"""The one settings object, built by a function (never at import time).

Every variable of the contract is ``BOXOFFICE_*``. Development defaults (JWT secret, signing key, SQLite
database, file storage and outbox) live under the data directory, ``.boxoffice/`` unless
``BOXOFFICE_DATA_DIR`` says otherwise; secrets there are generated once and reused.
"""

from __future__ import annotations

import functools
import secrets
import sys
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOXOFFICE_", env_file=".env", extra="ignore")

    env: Literal["dev", "test", "production"] = "dev"
    data_dir: Path = Path(".boxoffice")
    database_url: str = ""
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    public_url: str = "http://127.0.0.1:8000"
    jwt_secret: str = ""
    jwt_ttl_seconds: int = Field(default=3600, gt=0)
    signing_key_file: Path | None = None

    paystack_secret_key: str | None = None
    yoco_secret_key: str | None = None
    stripe_secret_key: str | None = None
    yoco_webhook_secret: str | None = None
    stripe_webhook_secret: str | None = None
    paystack_base_url: str = "https://api.paystack.co"
    yoco_base_url: str = "https://payments.yoco.com/api"
    stripe_base_url: str = "https://api.stripe.com/v1"
    sandbox_webhook_secret: str = ""
    # The sandbox hands out tickets for pretend money: on by default except in production.
    sandbox_enabled: bool | None = None

    smtp_url: str | None = None
    storage_url: str = ""
    s3_endpoint_url: str | None = None

    hold_ttl_seconds: int = Field(default=600, gt=0)
    hold_sweep_interval_seconds: int = Field(default=15, gt=0)
    payment_window_seconds: int = Field(default=900, gt=0)
    payment_poll_interval_seconds: int = Field(default=30, gt=0)
    late_payment_grace_seconds: int = Field(default=3600, ge=0)
    checkout_task_queue: str = "boxoffice-checkout"
    documents_task_queue: str = "boxoffice-documents"
    log_level: str = "INFO"
    log_json: bool | None = None

    @field_validator("database_url")
    @classmethod
    def _check_db_url(cls, v: str) -> str:
        if v and not (v.startswith("sqlite") or v.startswith("postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return v

    @field_validator("jwt_secret")
    @classmethod
    def _check_jwt_secret(cls, v: str) -> str:
        if v and len(v.encode()) < 32:
            raise ValueError("must be at least 32 bytes")
        return v

    @field_validator("temporal_address")
    @classmethod
    def _check_address(cls, v: str) -> str:
        host, sep, port = v.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError("must be host:port")
        return v

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v.rstrip("/")

    @field_validator("storage_url")
    @classmethod
    def _check_storage(cls, v: str) -> str:
        if v and not v.startswith(("file://", "s3://")):
            raise ValueError("must be file://… or s3://bucket/prefix")
        return v

    # Derived values -------------------------------------------------------------------------------------

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'boxoffice.db').resolve()}"

    @property
    def sandbox_on(self) -> bool:
        return self.sandbox_enabled if self.sandbox_enabled is not None else self.env != "production"

    @property
    def json_logs(self) -> bool:
        return self.log_json if self.log_json is not None else self.env != "dev"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{(self.data_dir / 'storage').resolve()}"


def _dev_secret(data_dir: Path, name: str) -> str:
    """A secret generated once under the data directory and reused across runs."""
    path = data_dir / name
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.write_text(value)
    path.chmod(0o600)
    return value


def build_settings(**overrides: object) -> Settings:
    """Read the environment (and ``.env``) into a Settings object, filling dev defaults.

    Raises ``SettingsError`` with one line naming the offending variable when a value is malformed.
    """
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        raise SettingsError(f"BOXOFFICE_{field.upper()}: {err['msg']}") from None
    if not settings.jwt_secret:
        if settings.env == "production":
            raise SettingsError("BOXOFFICE_JWT_SECRET: required in production")
        settings.jwt_secret = _dev_secret(settings.data_dir, "jwt_secret")
    if not settings.sandbox_webhook_secret:
        settings.sandbox_webhook_secret = _dev_secret(settings.data_dir, "sandbox_webhook_secret")
    if settings.signing_key_file is None:
        settings.signing_key_file = settings.data_dir / "signing_key.pem"
    return settings


class SettingsError(Exception):
    """A missing or malformed setting; the message is one line naming the variable."""


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, built on first use."""
    return build_settings()


def settings_or_exit() -> Settings:
    """Settings for a process entry point: a bad value stops start-up with one line naming it."""
    try:
        return get_settings()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
