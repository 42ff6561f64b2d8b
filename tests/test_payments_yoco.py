"""YocoProvider against the Yoco fake over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from boxoffice.payments.base import (
    EventKind,
    PaymentRequest,
    PaymentState,
    ProviderError,
    RefundRequest,
    RefundState,
)
from boxoffice.payments.yoco import YocoProvider
from tests.fakes import WebhookSink, YocoFake, running, serve
from tests.helpers import payment_request

SECRET = "sk_live_yoco_fake_key"


@pytest.fixture
def fake() -> Iterator[YocoFake]:
    with running(YocoFake(secret_key=SECRET)) as fake:
        yield fake


@pytest.fixture
async def provider(fake: YocoFake) -> AsyncIterator[YocoProvider]:
    provider = YocoProvider(SECRET, fake.api_url, fake.webhook_secret)
    yield provider
    await provider.aclose()


def payment(order_id: str = "ord-1", amount: int = 25000, key: str | None = None) -> PaymentRequest:
    return payment_request(order_id, amount, "ZAR", idempotency_key=key or f"checkout-{order_id}")


def refund(checkout_id: str, refund_id: str, amount: int) -> RefundRequest:
    return RefundRequest(
        refund_id=refund_id,
        reference="bo-ord-1",
        provider_reference=checkout_id,
        provider_transaction_id=None,
        amount=amount,
        currency="ZAR",
        idempotency_key=f"refund-{refund_id}",
    )


async def paid_checkout(fake: YocoFake, provider: YocoProvider) -> str:
    session = await provider.initiate_payment(payment())
    await fake.complete_payment(session.provider_reference)
    return session.provider_reference


async def test_initiate_creates_a_checkout_with_urls_metadata_and_idempotency_key(fake, provider):
    req = payment()
    session = await provider.initiate_payment(req)
    assert session.provider_reference.startswith("ch_")
    assert session.payment_url == f"{fake.base_url}/pay/{session.provider_reference}"
    (sent,) = fake.requests_to("POST", "/api/checkouts")
    assert sent.headers["idempotency-key"] == "checkout-ord-1"
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    assert sent.json() == {
        "amount": 25000,
        "currency": "ZAR",
        "successUrl": req.return_url,
        "cancelUrl": req.cancel_url,
        "failureUrl": req.cancel_url,
        "metadata": {"orderId": "ord-1", "reference": "bo-ord-1"},
    }


async def test_retry_with_the_same_key_replays_the_same_checkout(fake, provider):
    first = await provider.initiate_payment(payment())
    again = await provider.initiate_payment(payment())
    assert (again.provider_reference, again.payment_url) == (first.provider_reference, first.payment_url)
    assert len(fake.checkouts) == 1
    with pytest.raises(ProviderError) as exc:  # same key, different payload
        await provider.initiate_payment(payment(amount=30000))
    assert (exc.value.status, exc.value.retryable) == (422, False)


async def test_only_zar_is_accepted(fake, provider):
    req = payment()
    with pytest.raises(ProviderError) as exc:
        await provider.initiate_payment(PaymentRequest(**{**req.__dict__, "currency": "USD"}))
    assert not exc.value.retryable and fake.requests == []


async def test_verify_pending_then_succeeded_with_the_payment_id(fake, provider):
    session = await provider.initiate_payment(payment())
    pending = await provider.verify_payment("bo-ord-1", session.provider_reference)
    assert pending.state is PaymentState.PENDING and pending.provider_transaction_id == session.provider_reference
    await fake.complete_payment(session.provider_reference)
    result = await provider.verify_payment("bo-ord-1", session.provider_reference)
    assert (result.state, result.amount, result.currency) == (PaymentState.SUCCEEDED, 25000, "ZAR")
    assert result.provider_transaction_id == fake.checkouts[session.provider_reference]["paymentId"]


async def test_declined_and_expired_checkouts(fake, provider):
    declined = await provider.initiate_payment(payment("ord-1"))
    webhook = await fake.decline_payment(declined.provider_reference)
    assert (await provider.verify_payment("bo-ord-1", declined.provider_reference)).state is PaymentState.FAILED
    event = provider.parse_webhook(webhook.headers, webhook.body)
    assert (event.kind, event.provider_reference) == (EventKind.PAYMENT_FAILED, declined.provider_reference)
    expired = await provider.initiate_payment(payment("ord-2"))
    fake.expire_checkout(expired.provider_reference)
    assert (await provider.verify_payment("bo-ord-2", expired.provider_reference)).state is PaymentState.EXPIRED


@pytest.mark.parametrize("status", [500, 503, 429, 409])
async def test_transient_failures_are_retryable(fake, provider, status):
    fake.fail_next(1, status)
    with pytest.raises(ProviderError) as exc:
        await provider.initiate_payment(payment())
    assert exc.value.retryable and exc.value.status == status
    await provider.initiate_payment(payment())
    assert len(fake.checkouts) == 1


async def test_failures_for_a_time_window_then_recovery(fake, provider):
    fake.fail_for(0.3)
    with pytest.raises(ProviderError) as exc:
        await provider.initiate_payment(payment())
    assert exc.value.retryable
    fake.fail_for(0)
    assert (await provider.initiate_payment(payment())).payment_url


async def test_bad_key_is_403_and_not_retryable(fake):
    wrong = YocoProvider("sk_live_wrong", fake.api_url, fake.webhook_secret)
    with pytest.raises(ProviderError) as exc:
        await wrong.initiate_payment(payment())
    await wrong.aclose()
    assert (exc.value.status, exc.value.retryable) == (403, False)


async def test_full_and_partial_refunds_settle_by_webhook(fake, provider):
    checkout_id = await paid_checkout(fake, provider)
    part = await provider.refund_payment(refund(checkout_id, "rf-1", 5000))
    assert part.state is RefundState.PENDING and part.provider_refund_id and part.provider_refund_id.startswith("rfd_")
    (sent,) = fake.requests_to("POST", f"/api/checkouts/{checkout_id}/refund")
    assert sent.json() == {"amount": 5000} and sent.headers["idempotency-key"] == "refund-rf-1"
    rest = await provider.refund_payment(refund(checkout_id, "rf-2", 20000))
    assert (
        await provider.verify_refund(rest.provider_refund_id, refund(checkout_id, "rf-2", 20000))
    ).state is RefundState.PENDING
    webhook = await fake.settle_refund(rest.provider_refund_id)
    event = provider.parse_webhook(webhook.headers, webhook.body)
    assert (event.kind, event.provider_refund_id, event.amount) == (
        EventKind.REFUND_SUCCEEDED,
        rest.provider_refund_id,
        20000,
    )
    assert (
        event.provider_reference == checkout_id
        and event.provider_transaction_id == fake.checkouts[checkout_id]["paymentId"]
    )
    with pytest.raises(ProviderError) as exc:
        await provider.refund_payment(refund(checkout_id, "rf-3", 1))
    assert (exc.value.status, exc.value.retryable) == (400, False)


async def test_retried_refund_is_replayed_not_repeated(fake, provider):
    checkout_id = await paid_checkout(fake, provider)
    first = await provider.refund_payment(refund(checkout_id, "rf-1", 5000))
    again = await provider.refund_payment(refund(checkout_id, "rf-1", 5000))
    assert again.provider_refund_id == first.provider_refund_id and len(fake.refunds) == 1


async def test_refund_failure_emits_refund_failed(fake, provider):
    checkout_id = await paid_checkout(fake, provider)
    result = await provider.refund_payment(refund(checkout_id, "rf-1", 25000))
    fake.refund_outcome = "failed"
    webhook = await fake.settle_refund(result.provider_refund_id)
    event = provider.parse_webhook(webhook.headers, webhook.body)
    assert (event.kind, event.provider_refund_id) == (EventKind.REFUND_FAILED, result.provider_refund_id)


async def test_test_mode_payments_cannot_be_refunded():
    with running(YocoFake(secret_key="sk_test_yoco")) as fake:
        provider = YocoProvider("sk_test_yoco", fake.api_url, fake.webhook_secret)
        checkout_id = await paid_checkout(fake, provider)
        with pytest.raises(ProviderError) as exc:
            await provider.refund_payment(refund(checkout_id, "rf-1", 100))
        await provider.aclose()
    assert (exc.value.status, exc.value.retryable) == (400, False)


async def test_delivered_payment_webhook_maps_by_checkout_id(fake, provider):
    sink = WebhookSink()
    with serve(sink.app) as sink_url:
        fake.webhook_url, fake.duplicate_webhooks = f"{sink_url}/webhook", 2
        checkout_id = await paid_checkout(fake, provider)
    events = [provider.parse_webhook(w.headers, w.body) for w in sink.received]
    assert len(events) == 2 and events[0].event_id == events[1].event_id and events[0].event_id.startswith("evt_")
    event = events[0]
    assert (event.kind, event.provider_reference, event.reference) == (
        EventKind.PAYMENT_SUCCEEDED,
        checkout_id,
        "bo-ord-1",
    )
    assert (event.amount, event.currency) == (25000, "ZAR")
    assert event.provider_transaction_id == fake.checkouts[checkout_id]["paymentId"]
