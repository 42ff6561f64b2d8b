"""Shared HTTP plumbing for the provider clients: one JSON-speaking wrapper around ``httpx.AsyncClient`` that turns
every failure into a ``ProviderError`` whose ``retryable`` flag tells the caller (a Temporal activity) whether to try
again."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import httpx

from boxoffice.payments.base import ProviderError

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)

# 408 (request timeout), 409 (Yoco/Stripe: the same idempotency key is still in flight), 425 and 429 (rate limit) are
# transient: the identical request may succeed later. Every other 4xx will fail again, so retrying is pointless.
RETRYABLE_4XX = frozenset({408, 409, 425, 429})

# (message, code) pulled out of a provider's error body.
ErrorParser = Callable[[Any], tuple[str | None, str | None]]


def is_retryable_status(status: int) -> bool:
    """True for statuses where repeating the same request may succeed (5xx and the transient 4xx above)."""
    return status >= 500 or status in RETRYABLE_4XX


def decode_json(response: httpx.Response) -> Any:
    """The response body as JSON, or ``None`` when it is empty or not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


class ProviderHttp:
    """Sends authenticated requests to one provider and returns decoded JSON bodies.

    Guarantees: a 2xx returns the decoded JSON object (a 2xx without one is a retryable error); anything else raises ``ProviderError`` carrying the
    HTTP status and the provider's error code, retryable for network errors, timeouts, 5xx and the transient 4xx.
    A shared client passed in is used as is and never closed here; otherwise one is owned and closed by ``aclose``.
    """

    def __init__(
        self,
        provider: str,
        base_url: str,
        secret_key: str,
        error_parser: ErrorParser,
        client: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self._auth = {"Authorization": f"Bearer {secret_key}", "Accept": "application/json"}
        self._parse_error = error_parser
        self._timeout = timeout
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        form: Sequence[tuple[str, str]] | None = None,
        params: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Send one request and return the decoded JSON object of a 2xx reply (see the class docstring for errors)."""
        all_headers = {**self._auth, **(headers or {})}
        content = None
        if form is not None:  # encoded by hand: httpx's ``data=`` takes a mapping, and order/repeats matter to Stripe
            content = urlencode(list(form)).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        url = f"{self.base_url}/{path.lstrip('/')}"
        try:
            response = await self._client.request(
                method,
                url,
                json=json,
                content=content,
                params=tuple(params),
                headers=all_headers,
                timeout=self._timeout,
            )
        except httpx.TimeoutException as exc:
            raise ProviderError(f"{self.provider}: {method} {path} timed out", retryable=True, code="timeout") from exc
        except httpx.HTTPError as exc:  # connection refused/reset, DNS, protocol errors: nothing reached the provider
            raise ProviderError(f"{self.provider}: {method} {path} failed: {exc!r}", retryable=True) from exc
        body = decode_json(response)
        if response.is_success and isinstance(body, dict):
            return body
        if response.is_success:  # a 2xx that is not a JSON object (e.g. a proxy's page): the call's outcome is unknown
            raise ProviderError(
                f"{self.provider}: {method} {path} gave a non-JSON reply", retryable=True, code="bad_reply"
            )
        raise self.error_for(response.status_code, body, f"{method} {path}")

    def error_for(self, status: int, body: Any, what: str) -> ProviderError:
        """The ``ProviderError`` for a non-2xx reply with the given status and decoded body."""
        message, code = self._parse_error(body)
        return ProviderError(
            f"{self.provider}: {what} returned {status}: {message or 'no message'}",
            retryable=is_retryable_status(status),
            status=status,
            code=code,
        )

    async def aclose(self) -> None:
        """Close the HTTP client if this wrapper created it."""
        if self._owns_client:
            await self._client.aclose()


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names lower-cased, so webhook verification does not depend on how a framework spells them."""
    return {k.lower(): v for k, v in headers.items()}


def as_int(value: Any) -> int | None:
    """An integer amount from an int or a digit string (Paystack refund events send strings), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def upper(value: Any) -> str | None:
    """An upper-cased currency code, or ``None`` when absent."""
    return value.upper() if isinstance(value, str) and value else None


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty dict (for reading optional nested fields)."""
    return value if isinstance(value, dict) else {}
