"""Builds the configured payment provider by name, with credentials passed in (no settings import here)."""

from __future__ import annotations

import httpx

from boxoffice.payments.base import PaymentProvider, ProviderName, ProviderUnavailable
from boxoffice.payments.paystack import PaystackProvider
from boxoffice.payments.stripe_provider import StripeProvider
from boxoffice.payments.yoco import YocoProvider


def _require(provider: str, value: str | None, variable: str) -> str:
    if not value:
        raise ProviderUnavailable(provider, variable)
    return value


def build_provider(
    name: str,
    *,
    paystack_secret_key: str | None = None,
    yoco_secret_key: str | None = None,
    stripe_secret_key: str | None = None,
    yoco_webhook_secret: str | None = None,
    stripe_webhook_secret: str | None = None,
    paystack_base_url: str = "https://api.paystack.co",
    yoco_base_url: str = "https://payments.yoco.com/api",
    stripe_base_url: str = "https://api.stripe.com/v1",
    http_client: httpx.AsyncClient | None = None,
    sandbox: PaymentProvider | None = None,
) -> PaymentProvider:
    """The provider called ``name``, ready to use.

    Raises ``ProviderUnavailable`` naming the missing ``BOXOFFICE_*`` variable when its credentials are absent (or, for
    ``sandbox``, when no sandbox instance was given), and ``ValueError`` for an unknown name."""
    match name.lower():
        case ProviderName.SANDBOX:
            if sandbox is None:
                raise ProviderUnavailable(ProviderName.SANDBOX, "BOXOFFICE_SANDBOX_WEBHOOK_SECRET")
            return sandbox
        case ProviderName.PAYSTACK:
            key = _require(name, paystack_secret_key, "BOXOFFICE_PAYSTACK_SECRET_KEY")
            return PaystackProvider(key, paystack_base_url, http_client)
        case ProviderName.YOCO:
            key = _require(name, yoco_secret_key, "BOXOFFICE_YOCO_SECRET_KEY")
            secret = _require(name, yoco_webhook_secret, "BOXOFFICE_YOCO_WEBHOOK_SECRET")
            return YocoProvider(key, yoco_base_url, secret, http_client)
        case ProviderName.STRIPE:
            key = _require(name, stripe_secret_key, "BOXOFFICE_STRIPE_SECRET_KEY")
            secret = _require(name, stripe_webhook_secret, "BOXOFFICE_STRIPE_WEBHOOK_SECRET")
            return StripeProvider(key, stripe_base_url, secret, http_client)
    raise ValueError(f"unknown payment provider {name!r}; expected one of {', '.join(ProviderName)}")
