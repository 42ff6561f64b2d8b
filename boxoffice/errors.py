"""Business errors with a stable ``code``; the API renders them as RFC 9457 problem+json.

These live below the routes so that services and activities raise the same errors the API shows.
"""

from __future__ import annotations

from typing import Any


class BoxofficeError(Exception):
    """A refused request or a business failure. ``code`` is stable and documented."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self, detail: str, *, code: str | None = None, status: int | None = None, kind: str | None = None, **extra: Any
    ):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        if status:
            self.status = status
        self._kind = kind
        self.extra = extra

    @property
    def kind(self) -> str:
        """The ``ApplicationError.type`` this failure becomes inside Temporal (workflows branch on it)."""
        return self._kind or type(self).__name__


class ValidationFailed(BoxofficeError):
    status, code, title = 422, "validation_error", "Invalid request"


class NotFound(BoxofficeError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(BoxofficeError):
    status, code, title = 409, "conflict", "Conflict"


class RefundInProgress(Conflict):
    """A refund of the order is not settled yet: refunds, voids and transfers of its tickets wait for it."""

    code, title = "refund_in_progress", "A refund is in progress"


class Unauthorized(BoxofficeError):
    status, code, title = 401, "unauthorized", "Unauthorized"


class Forbidden(BoxofficeError):
    status, code, title = 403, "forbidden", "Forbidden"


class SoldOut(Conflict):
    code, title = "sold_out", "Sold out"


class IllegalTransition(Conflict):
    code, title = "illegal_transition", "Illegal status change"


class ServiceUnavailable(BoxofficeError):
    status, code, title = 503, "unavailable", "Service unavailable"
