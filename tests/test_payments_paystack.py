"""PaystackProvider against the Paystack fake over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from boxoffice.payments.base import (
    EventKind,
    PaymentRequest,
    PaymentState,
    ProviderError,
    ProviderUnavailable,
    RefundRequest,
    RefundState,
)
from boxoffice.payments.paystack import PaystackProvider
from boxoffice.payments.registry import build_provider
from tests.fakes import PaystackFake, WebhookSink, running, serve
from tests.helpers import payment_request

SECRET = "sk_test_paystack_fake_key"


@pytest.fixture
def fake() -> Iterator[PaystackFake]:
    with running(PaystackFake(secret_key=SECRET)) as fake:
        yield fake


@pytest.fixture
async def provider(fake: PaystackFake) -> AsyncIterator[PaystackProvider]:
    provider = PaystackProvider(SECRET, fake.base_url)
    yield provider
    await provider.aclose()


def payment(order_id: str = "ord-1", amount: int = 5000, currency: str = "NGN") -> PaymentRequest:
    return payment_request(order_id, amount, currency, metadata={"event": "ev-1"})


def refund(req: PaymentRequest, refund_id: str, amount: int, transaction_id: str | None = None) -> RefundRequest:
    return RefundRequest(
        refund_id=refund_id,
        reference=req.reference,
        provider_reference=req.reference,
        provider_transaction_id=transaction_id,
        amount=amount,
        currency=req.currency,
        reason="event cancelled",
        idempotency_key=f"refund-{refund_id}",
    )


async def paid(fake: PaystackFake, provider: PaystackProvider, req: PaymentRequest) -> str:
    await provider.initiate_payment(req)
    await fake.complete_payment(req.reference)
    result = await provider.verify_payment(req.reference, req.reference)
    assert result.provider_transaction_id
    return result.provider_transaction_id


async def test_initiate_sends_our_reference_and_returns_the_authorization_url(fake, provider):
    req = payment()
    session = await provider.initiate_payment(req)
    assert session.provider_reference == "bo-ord-1"
    assert session.payment_url and session.payment_url.startswith(f"{fake.base_url}/pay/")
    (sent,) = fake.requests_to("POST", "/transaction/initialize")
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    body = sent.json()
    assert body["reference"] == "bo-ord-1" and body["amount"] == 5000 and body["currency"] == "NGN"
    assert body["callback_url"] == req.return_url and body["email"] == req.email
    assert body["metadata"] == {"event": "ev-1", "order_id": "ord-1", "reference": "bo-ord-1"}


async def test_retry_after_duplicate_reference_returns_the_existing_payment(fake, provider):
    req = payment()
    await provider.initiate_payment(req)
    again = await provider.initiate_payment(req)
    assert again.provider_reference == req.reference
    assert again.payment_url is None  # verify does not carry the authorization URL (documented in the client)
    assert len(fake.transactions) == 1
    with pytest.raises(ProviderError) as exc:
        await provider.initiate_payment(payment(amount=9999))
    assert exc.value.code == "reference_mismatch" and not exc.value.retryable


async def test_unsupported_currency_is_refused_without_a_call(fake, provider):
    with pytest.raises(ProviderError) as exc:
        await provider.initiate_payment(payment(currency="EUR"))
    assert not exc.value.retryable and fake.requests == []


async def test_verify_is_pending_until_paid_then_succeeded(fake, provider):
    req = payment()
    await provider.initiate_payment(req)
    assert (await provider.verify_payment(req.reference, req.reference)).state is PaymentState.PENDING
    await fake.complete_payment(req.reference)
    result = await provider.verify_payment(req.reference, req.reference)
    assert result.state is PaymentState.SUCCEEDED
    assert (result.amount, result.currency) == (5000, "NGN")
    assert result.provider_transaction_id == str(fake.transactions[req.reference]["id"])


async def test_declined_payment_verifies_as_failed(fake, provider):
    req = payment()
    await provider.initiate_payment(req)
    await fake.decline_payment(req.reference)
    result = await provider.verify_payment(req.reference, req.reference)
    assert result.state is PaymentState.FAILED and result.error == "Declined"


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_server_errors_and_rate_limits_are_retryable(fake, provider, status):
    fake.fail_next(1, status)
    with pytest.raises(ProviderError) as exc:
        await provider.initiate_payment(payment())
    assert exc.value.retryable and exc.value.status == status
    assert (await provider.initiate_payment(payment())).payment_url  # nothing was created by the failed call


async def test_bad_key_and_unknown_reference_are_not_retryable(fake, provider):
    wrong = PaystackProvider("sk_test_wrong", fake.base_url)
    with pytest.raises(ProviderError) as exc:
        await wrong.initiate_payment(payment())
    await wrong.aclose()
    assert (exc.value.status, exc.value.retryable) == (401, False)
    with pytest.raises(ProviderError) as exc:
        await provider.verify_payment("bo-missing", "bo-missing")
    assert (exc.value.status, exc.value.retryable) == (404, False)


async def test_unreachable_provider_is_retryable(fake):
    with serve(fake.app) as url:
        pass  # the port is closed again
    provider = PaystackProvider(SECRET, url)
    with pytest.raises(ProviderError) as exc:
        await provider.verify_payment("bo-x", "bo-x")
    await provider.aclose()
    assert exc.value.retryable and exc.value.status is None


async def test_full_refund_is_pending_then_succeeds(fake, provider):
    req = payment()
    txn_id = await paid(fake, provider, req)
    result = await provider.refund_payment(refund(req, "rf-1", 5000, txn_id))
    assert result.state is RefundState.PENDING and result.amount == 5000 and result.provider_refund_id
    sent = fake.requests_to("POST", "/refund")[0].json()
    assert sent == {
        "transaction": req.reference,
        "amount": 5000,
        "currency": "NGN",
        "merchant_note": sent["merchant_note"],
    }
    assert "rf-1" in sent["merchant_note"]
    await fake.settle_refund(result.provider_refund_id)
    settled = await provider.verify_refund(result.provider_refund_id, refund(req, "rf-1", 5000, txn_id))
    assert settled.state is RefundState.SUCCEEDED


async def test_partial_refunds_and_a_retried_refund_does_not_refund_twice(fake, provider):
    req = payment()
    txn_id = await paid(fake, provider, req)
    first = await provider.refund_payment(refund(req, "rf-1", 2000, txn_id))
    retried = await provider.refund_payment(refund(req, "rf-1", 2000, txn_id))
    assert retried.provider_refund_id == first.provider_refund_id
    second = await provider.refund_payment(refund(req, "rf-2", 3000, txn_id))
    assert second.provider_refund_id != first.provider_refund_id
    assert sorted(r["amount"] for r in fake.refunds.values()) == [2000, 3000]
    with pytest.raises(ProviderError) as exc:
        await provider.refund_payment(refund(req, "rf-3", 1, txn_id))
    assert (exc.value.status, exc.value.retryable) == (400, False)


async def test_failed_refund_reads_and_parses_as_failed(fake, provider):
    req = payment()
    txn_id = await paid(fake, provider, req)
    result = await provider.refund_payment(refund(req, "rf-1", 1500, txn_id))
    fake.refund_outcome = "failed"
    webhook = await fake.settle_refund(result.provider_refund_id)
    assert (
        await provider.verify_refund(result.provider_refund_id, refund(req, "rf-1", 1500))
    ).state is RefundState.FAILED
    event = provider.parse_webhook(webhook.headers, webhook.body)
    assert event.kind is EventKind.REFUND_FAILED
    assert (event.reference, event.provider_refund_id, event.amount) == (req.reference, result.provider_refund_id, 1500)


async def test_signed_webhooks_are_delivered_and_duplicates_share_an_event_id(fake, provider):
    sink = WebhookSink()
    with serve(sink.app) as sink_url:
        fake.webhook_url, fake.duplicate_webhooks = f"{sink_url}/webhook", 2
        req = payment()
        await paid(fake, provider, req)
        assert len(sink.received) == 2 and all(d.status == 200 for d in fake.deliveries)
        events = [provider.parse_webhook(w.headers, w.body) for w in sink.received]
    assert events[0].event_id == events[1].event_id
    event = events[0]
    assert (event.kind, event.raw_type, event.reference) == (
        EventKind.PAYMENT_SUCCEEDED,
        "charge.success",
        req.reference,
    )
    assert (event.amount, event.currency, event.provider_transaction_id) == (
        5000,
        "NGN",
        str(fake.transactions[req.reference]["id"]),
    )


async def test_held_webhooks_can_be_reordered_and_dropped_ones_are_recovered_by_verify(fake, provider):
    sink = WebhookSink()
    with serve(sink.app) as sink_url:
        fake.webhook_url, fake.hold_webhooks = f"{sink_url}/webhook", True
        first, second = payment("ord-1"), payment("ord-2")
        await paid(fake, provider, first)
        await paid(fake, provider, second)
        assert sink.received == []
        await fake.flush_webhooks(reverse=True)
        refs = [provider.parse_webhook(w.headers, w.body).reference for w in sink.received]
        assert refs == [second.reference, first.reference]
        fake.hold_webhooks, fake.drop_webhooks = False, True
        third = payment("ord-3")
        await paid(fake, provider, third)  # asserts verify reads it; no webhook arrives
        assert len(sink.received) == 2


async def test_refund_event_kinds_and_string_amounts(fake, provider):
    for status, kind in [("pending", EventKind.REFUND_PENDING), ("processing", EventKind.REFUND_PENDING)]:
        data = {"id": 7, "status": status, "transaction_reference": "bo-o", "amount": "1200", "currency": "ngn"}
        webhook = fake.sign({"event": f"refund.{status}", "data": data})
        event = provider.parse_webhook(webhook.headers, webhook.body)
        assert (event.kind, event.amount, event.currency, event.provider_refund_id) == (kind, 1200, "NGN", "7")
    webhook = fake.sign({"event": "subscription.create", "data": {}})
    assert provider.parse_webhook(webhook.headers, webhook.body).kind is EventKind.IGNORED


# --- registry -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kwargs", "missing"),
    [
        ("paystack", {}, "BOXOFFICE_PAYSTACK_SECRET_KEY"),
        ("yoco", {"yoco_webhook_secret": "whsec_AAAA"}, "BOXOFFICE_YOCO_SECRET_KEY"),
        ("yoco", {"yoco_secret_key": "sk"}, "BOXOFFICE_YOCO_WEBHOOK_SECRET"),
        ("stripe", {"stripe_webhook_secret": "whsec_x"}, "BOXOFFICE_STRIPE_SECRET_KEY"),
        ("stripe", {"stripe_secret_key": "sk"}, "BOXOFFICE_STRIPE_WEBHOOK_SECRET"),
        ("sandbox", {}, "BOXOFFICE_SANDBOX_WEBHOOK_SECRET"),
    ],
)
def test_registry_names_the_missing_variable(name, kwargs, missing):
    with pytest.raises(ProviderUnavailable) as exc:
        build_provider(name, **kwargs)
    assert exc.value.missing == missing and missing in str(exc.value) and not exc.value.retryable


async def test_registry_builds_configured_providers_on_a_shared_client(fake):
    async with httpx.AsyncClient() as client:
        common = {"http_client": client, "paystack_base_url": fake.base_url}
        provider = build_provider("paystack", paystack_secret_key=SECRET, **common)
        assert isinstance(provider, PaystackProvider) and provider.name == "paystack"
        await provider.initiate_payment(payment())
        await provider.aclose()  # a shared client is not closed by the provider
        assert not client.is_closed
        yoco = build_provider("yoco", yoco_secret_key="sk", yoco_webhook_secret="whsec_AAAA", **common)
        stripe = build_provider("stripe", stripe_secret_key="sk", stripe_webhook_secret="whsec_x", **common)
        assert (yoco.name, stripe.name) == ("yoco", "stripe")
        assert build_provider("sandbox", sandbox=provider) is provider
    with pytest.raises(ValueError):
        build_provider("paypal")
