"""The payment providers of one process, built from settings on first use and shared."""

from __future__ import annotations

from dataclasses import replace

import httpx

from boxoffice.config import Settings
from boxoffice.errors import NotFound, ServiceUnavailable
from boxoffice.payments.base import PaymentProvider, PaymentResult, ProviderName, ProviderUnavailable
from boxoffice.payments.registry import build_provider
from boxoffice.payments.sandbox import SandboxProvider


class Providers:
    """``get(name)`` returns the provider or raises ``ProviderUnavailable`` (not configured)."""

    def __init__(
        self,
        settings: Settings,
        *,
        sandbox_http: httpx.AsyncClient | None = None,
        http: httpx.AsyncClient | None = None,
    ):
        self.settings = settings
        self._sandbox_http = sandbox_http
        self._http = http
        self._cache: dict[str, PaymentProvider] = {}

    def get(self, name: str) -> PaymentProvider:
        if name not in self._cache:
            s = self.settings
            if name == ProviderName.SANDBOX and not s.sandbox_on:
                raise ProviderUnavailable(ProviderName.SANDBOX, "BOXOFFICE_SANDBOX_ENABLED=true (off in production)")
            sandbox = SandboxProvider(s.public_url, s.sandbox_webhook_secret, self._sandbox_http)
            self._cache[name] = build_provider(
                name,
                paystack_secret_key=s.paystack_secret_key,
                yoco_secret_key=s.yoco_secret_key,
                stripe_secret_key=s.stripe_secret_key,
                yoco_webhook_secret=s.yoco_webhook_secret,
                stripe_webhook_secret=s.stripe_webhook_secret,
                paystack_base_url=s.paystack_base_url,
                yoco_base_url=s.yoco_base_url,
                stripe_base_url=s.stripe_base_url,
                http_client=self._http,
                sandbox=sandbox if name == ProviderName.SANDBOX else None,
            )
        return self._cache[name]

    async def check_payment(self, name: str, reference: str, provider_reference: str | None) -> PaymentResult:
        """What provider ``name`` says about our payment ``reference`` (currency upper-cased)."""
        result = await self.get(name).verify_payment(reference, provider_reference or reference)
        return replace(result, currency=(result.currency or "").upper() or None)

    def for_request(self, name: str) -> PaymentProvider:
        """For the API: an unknown provider is 404, an unconfigured one 503 with the variable to set."""
        if name not in {p.value for p in ProviderName}:
            raise NotFound(f"unknown provider {name!r}", code="unknown_provider")
        try:
            return self.get(name)
        except ProviderUnavailable as exc:
            raise ServiceUnavailable(str(exc), code="provider_unavailable", provider=name) from None

    async def aclose(self) -> None:
        for p in self._cache.values():
            await p.aclose()
        self._cache.clear()
