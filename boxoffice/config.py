"""The one settings object, built by a function (never at import time).

Every variable of the contract is ``BOXOFFICE_*``. Development defaults (JWT secret, signing key, SQLite
database, file storage and outbox) live under the data directory, ``.boxoffice/`` unless
``BOXOFFICE_DATA_DIR`` says otherwise; secrets there are generated once and reused.
"""

from __future__ import annotations

import functools
import os
import secrets
import sys
import tempfile
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

    # The gate (issue 9): the same gate re-reading a ticket within the replay window gets the same answer again
    # without a new entry counted (answered from a per-process cache of this many recent scans, 0 = no cache; the
    # database decides the same without it); admitted tickets of ended events become ``used`` at each sweep.
    gate_replay_window_seconds: int = Field(default=300, ge=0)
    gate_replay_cache_size: int = Field(default=10_000, ge=0)
    gate_sweep_interval_seconds: int = Field(default=60, gt=0)

    # Hardening (issue 10): every request body is bounded (413 beyond), and one buyer's active holds are capped
    # per ticket type and per event (0 = no cap), so one token cannot keep an event sold out.
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    buyer_hold_limit_per_ticket_type: int = Field(default=20, ge=0)
    buyer_hold_limit_per_event: int = Field(default=40, ge=0)

    # Delivery (issue 12): who buyers' e-mails come from and where replies go, where their "view your order" link
    # leads ({order_id} is filled in; default: the API's own order status page), the locale money and dates are
    # written in (e-mails, ticket PDFs, the sandbox's pay page), and how long the presigned URL lives that
    # ``tickets.pdf`` redirects to when documents are kept on S3 (0: the API streams the PDF itself, for an
    # S3 endpoint buyers cannot reach).
    mail_from: str = "Boxoffice <tickets@boxoffice.local>"
    mail_reply_to: str | None = None
    order_url: str = ""
    locale: str = "en"
    s3_presign_seconds: int = Field(default=300, ge=0, le=3600)

    # After the sale (issue 13): an event's cancellation refunds its paid orders, and an edit tells their buyers, at
    # most ``event_orders_per_second`` orders a second, ``event_batch_size`` per step; such a run continues as new
    # every ``event_orders_per_run`` orders, and while the refunds settle it looks again every so many seconds.
    event_orders_per_second: float = Field(default=10.0, gt=0, le=1000)
    event_batch_size: int = Field(default=10, gt=0, le=500)
    event_orders_per_run: int = Field(default=500, gt=0)
    event_cancellation_poll_seconds: int = Field(default=5, gt=0)

    # Waiting lists (issue 13): how long a hold offered to the buyer at the head of a line is kept for them before it
    # passes to the next, how often a list's run looks again for seats nobody told it about, and how often the sweep
    # makes sure every list with buyers in it has its run.
    waitlist_offer_seconds: int = Field(default=900, gt=0)
    waitlist_recheck_seconds: int = Field(default=300, gt=0)
    waitlist_sweep_interval_seconds: int = Field(default=300, gt=0)

    # Operating (issue 11): which task queues a worker serves (``boxoffice worker --queues`` overrides), and the
    # worker's two Prometheus endpoints on ``metrics_host``: its own boxoffice_* series (``metrics_port``) and the
    # Temporal SDK's worker metrics (``sdk_metrics_port``); 0 serves none. Traces use the standard OTEL_* variables.
    # Each API or worker process opens at most twice ``database_pool_size`` PostgreSQL connections: replicas times
    # that must stay within the server's max_connections.
    worker_queues: Literal["all", "checkout", "documents"] = "all"
    database_pool_size: int = Field(default=10, gt=0, le=100)
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=0, ge=0, le=65535)
    sdk_metrics_port: int = Field(default=0, ge=0, le=65535)

    # PII out of workflow history (issue 11): Temporal payloads are encrypted with these keys, ``id:base64key`` of 32
    # bytes, comma-separated, newest first (``boxoffice payload-keys rotate`` prepends one; every listed key still
    # decrypts). Dev default: generated once under the data directory, shared by the API and the worker; required in
    # production. The Temporal UI origins allowed to call the codec endpoint ``/codec`` (CORS), comma-separated.
    payload_keys: str = ""
    temporal_ui_origins: str = "http://127.0.0.1:8233,http://localhost:8233"

    @field_validator("payload_keys")
    @classmethod
    def _check_payload_keys(cls, v: str) -> str:
        from boxoffice.codec import parse_payload_keys

        if v.strip():
            parse_payload_keys(v)  # ValueError naming the entry by position and id, never its key
        return v.strip()

    @field_validator("temporal_ui_origins")
    @classmethod
    def _check_ui_origins(cls, v: str) -> str:
        for origin in (o.strip() for o in v.split(",") if o.strip()):
            scheme, sep, rest = origin.partition("://")
            if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
                raise ValueError(f"{origin!r} is not an origin such as https://temporal.example.com:8233")
        return v

    @property
    def ui_origins(self) -> list[str]:
        """The Temporal UI origins allowed to call ``/codec`` from a browser."""
        return [o.strip() for o in self.temporal_ui_origins.split(",") if o.strip()]

    @field_validator("mail_from", "mail_reply_to")
    @classmethod
    def _check_mail_address(cls, v: str | None) -> str | None:
        from email.utils import parseaddr

        if v is not None:
            local, at, domain = parseaddr(v)[1].rpartition("@")
            if not (local and at and "." in domain) or any(c.isspace() for c in parseaddr(v)[1]):
                raise ValueError("must be an e-mail address, e.g. Boxoffice <tickets@example.com>")
        return v

    @field_validator("order_url")
    @classmethod
    def _check_order_url(cls, v: str) -> str:
        if v and (not v.startswith(("http://", "https://")) or "{order_id}" not in v):
            raise ValueError("must be an http(s) URL with {order_id} in it")
        return v

    @field_validator("locale")
    @classmethod
    def _check_locale(cls, v: str) -> str:
        from babel import Locale, UnknownLocaleError

        try:
            Locale.parse(v.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            raise ValueError("must be a locale such as en, en_ZA or de_DE") from None
        return v

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, v: str | None) -> str | None:
        from boxoffice.messaging.transport import parse_smtp_url

        if v:
            parse_smtp_url(v)  # ValueError: the message never echoes the password
        return v

    @field_validator("storage_url")
    @classmethod
    def _check_storage_url(cls, v: str) -> str:
        from boxoffice.storage import storage_from_url

        if v:
            try:
                storage_from_url(v)  # builds the backend object only: nothing is contacted or created
            except ValueError as exc:
                raise ValueError(str(exc).split(" is invalid: ", 1)[-1]) from None
        return v

    def order_link(self, order_id: str) -> str:
        """The link buyers' e-mails give for ``order_id`` (``BOXOFFICE_ORDER_URL``, or the order status page)."""
        template = self.order_url or f"{self.public_url}/checkout/complete?order_id={{order_id}}"
        return template.replace("{order_id}", order_id)

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


def _dev_payload_keys(data_dir: Path) -> str:
    """The development payload key, generated once under the data directory (0600) and reused; processes starting
    at the same moment agree on one (the file appears whole, and only once)."""
    from boxoffice.codec import generate_payload_key

    path = data_dir / "payload_keys"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".payload_keys.")  # created 0600
        try:
            with os.fdopen(fd, "w") as f:
                f.write(generate_payload_key("dev"))
            os.link(tmp, path)  # refuses to replace: whoever links first wins, the others read theirs
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


def refuse_production_defaults(settings: Settings) -> None:
    """``SettingsError`` (one line per variable) for every production setting left to a dev default or too weak
    (``boxoffice.production``)."""
    from boxoffice.production import production_problems

    if problems := production_problems(settings):
        raise SettingsError("\n".join(problems))


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
    if settings.env == "production":
        refuse_production_defaults(settings)  # issue 10: nothing implicit in production
    if not settings.jwt_secret:
        settings.jwt_secret = _dev_secret(settings.data_dir, "jwt_secret")
    if not settings.sandbox_webhook_secret:
        settings.sandbox_webhook_secret = _dev_secret(settings.data_dir, "sandbox_webhook_secret")
    if not settings.payload_keys:  # issue 11
        settings.payload_keys = _dev_payload_keys(settings.data_dir)
    if settings.signing_key_file is None:
        settings.signing_key_file = settings.data_dir / "signing_key.pem"
    return settings


class SettingsError(Exception):
    """A missing or malformed setting; the message is one line naming the variable (one line per variable when
    several are at fault)."""


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, built on first use."""
    return build_settings()


def settings_or_exit() -> Settings:
    """Settings for a process entry point: a bad value stops start-up with one line naming it."""
    try:
        return get_settings()
    except SettingsError as exc:
        for line in str(exc).splitlines():
            print(f"configuration error: {line}", file=sys.stderr)
        raise SystemExit(2) from None
