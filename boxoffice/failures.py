"""Failures across the Temporal boundary, both ways.

Activities raise business failures (``BoxofficeError``) and provider failures (``ProviderError``);
``typed_errors`` turns them into typed ``ApplicationError``s Temporal understands, carrying the problem details
the API shows (code, status, detail). ``problem_from_failure`` turns such a failure, surfaced by an update or a
workflow result, back into the same ``BoxofficeError`` for the API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.exceptions import ApplicationError

from boxoffice.errors import BoxofficeError
from boxoffice.payments.base import ProviderError, ProviderUnavailable

PROVIDER_UNAVAILABLE = "ProviderUnavailable"
PROVIDER_REJECTED = "ProviderRejected"
PROVIDER_ERROR = "ProviderError"


def problem_details(exc: BoxofficeError) -> dict[str, object]:
    return {
        "code": exc.code,
        "status": exc.status,
        "detail": exc.detail,
        **{k: v for k, v in exc.extra.items() if isinstance(v, str | int | float | bool)},
    }


@asynccontextmanager
async def typed_errors() -> AsyncIterator[None]:
    """Business failures are final (non-retryable) below 500; provider failures retry when the provider says so."""
    try:
        yield
    except ProviderUnavailable as exc:
        raise ApplicationError(
            str(exc),
            {"code": "provider_unavailable", "status": 503, "detail": str(exc)},
            type=PROVIDER_UNAVAILABLE,
            non_retryable=True,
        ) from exc
    except ProviderError as exc:
        raise ApplicationError(
            str(exc),
            {"code": exc.code or "provider_error", "status": 502, "detail": str(exc)},
            type=PROVIDER_ERROR if exc.retryable else PROVIDER_REJECTED,
            non_retryable=not exc.retryable,
        ) from exc
    except BoxofficeError as exc:
        raise ApplicationError(exc.detail, problem_details(exc), type=exc.kind, non_retryable=exc.status < 500) from exc


def problem_from_failure(exc: BaseException, *, default_code: str, default_status: int = 409) -> BoxofficeError:
    """The API's error for a Temporal failure: the first ``ApplicationError`` in the cause chain, with the problem
    details its activity attached (see ``typed_errors``), else a ``default_code`` problem."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = getattr(cause, "cause", None)
    if isinstance(cause, ApplicationError) and cause.details and isinstance(cause.details[0], dict):
        d = cause.details[0]
        extra = {k: v for k, v in d.items() if k not in ("code", "status", "detail")}
        return BoxofficeError(
            str(d.get("detail", cause.message)),
            code=str(d.get("code", default_code)),
            status=int(d.get("status", default_status)),
            **extra,
        )
    return BoxofficeError(str(cause or exc), code=default_code, status=default_status)
