"""Turning business and provider failures into typed ``ApplicationError``s Temporal understands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.exceptions import ApplicationError

from boxoffice.errors import BoxofficeError
from boxoffice.messages import CheckoutErrors as E
from boxoffice.payments.base import ProviderError, ProviderUnavailable
from boxoffice.services.orders import CheckoutFailure


def problem_details(exc: BoxofficeError) -> dict[str, object]:
    return {
        "code": exc.code,
        "status": exc.status,
        "detail": exc.detail,
        **{k: v for k, v in exc.extra.items() if isinstance(v, str | int | float | bool)},
    }


@asynccontextmanager
async def typed_errors() -> AsyncIterator[None]:
    """Business failures are final (non-retryable); provider failures retry when the provider says so."""
    try:
        yield
    except CheckoutFailure as exc:
        raise ApplicationError(exc.detail, problem_details(exc), type=exc.kind, non_retryable=True) from exc
    except ProviderUnavailable as exc:
        raise ApplicationError(
            str(exc),
            {"code": "provider_unavailable", "status": 503, "detail": str(exc)},
            type=E.PROVIDER_UNAVAILABLE,
            non_retryable=True,
        ) from exc
    except ProviderError as exc:
        raise ApplicationError(
            str(exc),
            {"code": exc.code or "provider_error", "status": 502, "detail": str(exc)},
            type="ProviderError" if exc.retryable else E.PROVIDER_REJECTED,
            non_retryable=not exc.retryable,
        ) from exc
    except BoxofficeError as exc:
        raise ApplicationError(
            exc.detail, problem_details(exc), type=type(exc).__name__, non_retryable=exc.status < 500
        ) from exc
