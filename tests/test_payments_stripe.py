"""StripeProvider against the Stripe fake over real HTTP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest

from boxoffice.payments.base import (
    EventKind,
    LineItem,
    PaymentRequest,
    PaymentState,
    ProviderError,
    RefundRequest,
    RefundState,
)
from boxoffice.payments.stripe_provider import StripeProvider, clamp_expiry
from tests.fakes import StripeFake, WebhookSink, running, serve
from tests.helpers import payment_request

SECRET = "sk_test_stripe_fake_key"


@pytest.fixture
def fake() -> Iterator[StripeFake]:
    with running(StripeFake(secret_key=SECRET)) as fake:
        yield fake


@pytest.fixture
async def provider(fake: StripeFake) -> AsyncIterator[StripeProvider]:
    provider = StripeProvider(SECRET, fake.api_url, fake.webhook_secret)
    yield provider
    await provider.aclose()


def payment(order_id: str = "ord-1", *, items: bool = True, expires_in: timedelta | None = None) -> PaymentRequest:
    return payment_request(
        order_id,
        12000,
        "EUR",
        description="Order ord-1",
        expires_at=datetime.now(UTC) + expires_in if expires_in else None,
        line_items=(LineItem("General admission", 5000, 2), LineItem("Tip", 2000, 1)) if items else (),
    )


def refund(session_id: str, intent: str | None, refund_id: str, amount: int) -> RefundRequest:
    return RefundRequest(refund_id, "bo-ord-1", session_id, intent, amount, "EUR", "requested", f"refund-{refund_id}")


async def paid_session(fake: StripeFake, provider: StripeProvider) -> tuple[str, str]:
    session = await provider.initiate_payment(payment())
    await fake.complete_payment(session.provider_reference)
    result = await provider.verify_payment("bo-ord-1", session.provider_reference)
    assert result.provider_transaction_id
    return session.provider_reference, result.provider_transaction_id


async def test_initiate_sends_form_encoded_session_params(fake, provider):
    session = await provider.initiate_payment(payment(expires_in=timedelta(hours=2)))
    assert (
        session.provider_reference.startswith("cs_")
        and session.payment_url == f"{fake.base_url}/pay/{session.provider_reference}"
    )
    (sent,) = fake.requests_to("POST", "/v1/checkout/sessions")
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.headers["idempotency-key"] == "checkout-ord-1"
    form = dict(parse_qsl(sent.body.decode()))
    assert form["mode"] == "payment" and form["client_reference_id"] == "ord-1"
    assert form["line_items[0][price_data][currency]"] == "eur"
    assert form["line_items[0][price_data][unit_amount]"] == "5000" and form["line_items[0][quantity]"] == "2"
    assert form["line_items[1][price_data][product_data][name]"] == "Tip"
    assert form["metadata[order_id]"] == "ord-1" and form["metadata[reference]"] == "bo-ord-1"
    assert form["payment_intent_data[metadata][order_id]"] == "ord-1"
    assert form["payment_intent_data[metadata][reference]"] == "bo-ord-1"
    assert form["customer_email"] == "buyer@example.com" and form["success_url"] == "https://boxoffice.test/return"
    assert abs(int(form["expires_at"]) - (time.time() + 7200)) < 5
    assert fake.sessions[session.provider_reference]["amount_total"] == 12000


async def test_without_line_items_one_line_carries_the_total(fake, provider):
    await provider.initiate_payment(payment(items=False))
    form = dict(parse_qsl(fake.requests_to("POST", "/v1/checkout/sessions")[0].body.decode()))
    assert form["line_items[0][price_data][unit_amount]"] == "12000" and "line_items[1][quantity]" not in form


@pytest.mark.parametrize("expires_in", [timedelta(minutes=5), timedelta(hours=72)])
async def test_expiry_outside_stripes_window_is_clamped_into_it(fake, provider, expires_in):
    session = await provider.initiate_payment(payment(expires_in=expires_in))
    expires_at = fake.sessions[session.provider_reference]["expires_at"]
    assert time.time() + 1800 <= expires_at <= time.time() + 86400


def test_clamped_expiry_is_stable_across_a_prompt_retry():
    soon = datetime.fromtimestamp(1_000_000, UTC)
    assert clamp_expiry(soon, 1_000_000.0) == clamp_expiry(soon, 1_000_030.0) >= 1_000_030 + 1800


async def test_idempotent_retry_replays_the_session_and_changed_params_are_refused(fake, provider):
    first = await provider.initiate_payment(payment())
    again = await provider.initiate_payment(payment())
    assert again.provider_reference == first.provider_reference and len(fake.sessions) == 1
    with pytest.raises(ProviderError) as exc:
        await provider.initiate_payment(payment(items=False))  # same key, other line items
    assert (exc.value.code, exc.value.retryable) == ("idempotency_error", False)


async def test_verify_pending_then_paid(fake, provider):
    session = await provider.initiate_payment(payment())
    pending = await provider.verify_payment("bo-ord-1", session.provider_reference)
    assert pending.state is PaymentState.PENDING and pending.provider_transaction_id is None
    (read,) = fake.requests_to("GET", "/v1/checkout/sessions/")
    assert ("expand[]", "payment_intent") in read.query
    await fake.complete_payment(session.provider_reference)
    result = await provider.verify_payment("bo-ord-1", session.provider_reference)
    assert (result.state, result.amount, result.currency) == (PaymentState.SUCCEEDED, 12000, "EUR")
    assert result.provider_transaction_id == fake.sessions[session.provider_reference]["payment_intent"]


async def test_declined_card_leaves_the_session_open_and_async_failure_fails_it(fake, provider):
    session = await provider.initiate_payment(payment())
    (webhook,) = await fake.decline_payment(session.provider_reference)
    assert provider.parse_webhook(webhook.headers, webhook.body).kind is EventKind.PAYMENT_FAILED
    assert (await provider.verify_payment("bo-ord-1", session.provider_reference)).state is PaymentState.PENDING
    (completed,) = await fake.complete_payment(session.provider_reference, async_payment=True)
    assert provider.parse_webhook(completed.headers, completed.body).kind is EventKind.IGNORED
    assert (await provider.verify_payment("bo-ord-1", session.provider_reference)).state is PaymentState.PENDING
    (failed,) = await fake.settle_async_payment(session.provider_reference, succeed=False)
    event = provider.parse_webhook(failed.headers, failed.body)
    assert (event.kind, event.provider_reference, event.reference) == (
        EventKind.PAYMENT_FAILED,
        session.provider_reference,
        "bo-ord-1",
    )
    assert (await provider.verify_payment("bo-ord-1", session.provider_reference)).state is PaymentState.FAILED


async def test_expired_session(fake, provider):
    session = await provider.initiate_payment(payment())
    (webhook,) = await fake.expire_session(session.provider_reference)
    assert provider.parse_webhook(webhook.headers, webhook.body).kind is EventKind.PAYMENT_EXPIRED
    assert (await provider.verify_payment("bo-ord-1", session.provider_reference)).state is PaymentState.EXPIRED


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_transient_failures_are_retryable(fake, provider, status):
    fake.fail_next(1, status)
    with pytest.raises(ProviderError) as exc:
        await provider.initiate_payment(payment())
    assert exc.value.retryable and exc.value.status == status
    await provider.initiate_payment(payment())
    assert len(fake.sessions) == 1


async def test_bad_key_and_unknown_session_are_not_retryable(fake, provider):
    wrong = StripeProvider("sk_test_wrong", fake.api_url, fake.webhook_secret)
    with pytest.raises(ProviderError) as exc:
        await wrong.initiate_payment(payment())
    await wrong.aclose()
    assert (exc.value.status, exc.value.retryable) == (401, False)
    with pytest.raises(ProviderError) as exc:
        await provider.verify_payment("bo-x", "cs_test_missing")
    assert (exc.value.status, exc.value.code, exc.value.retryable) == (404, "resource_missing", False)


async def test_partial_then_full_refund_with_idempotent_retry(fake, provider):
    session_id, intent = await paid_session(fake, provider)
    part = await provider.refund_payment(refund(session_id, intent, "rf-1", 4000))
    again = await provider.refund_payment(refund(session_id, intent, "rf-1", 4000))
    assert part.state is RefundState.PENDING and again.provider_refund_id == part.provider_refund_id
    form = dict(parse_qsl(fake.requests_to("POST", "/v1/refunds")[0].body.decode()))
    assert (form["payment_intent"], form["amount"], form["metadata[refund_id]"]) == (intent, "4000", "rf-1")
    rest = await provider.refund_payment(refund(session_id, None, "rf-2", 8000))  # intent looked up from the session
    assert len(fake.refunds) == 2 and rest.amount == 8000
    updated, charge = await fake.settle_refund(rest.provider_refund_id)
    assert (
        await provider.verify_refund(rest.provider_refund_id, refund(session_id, intent, "rf-2", 8000))
    ).state is RefundState.SUCCEEDED
    event = provider.parse_webhook(updated.headers, updated.body)
    assert (event.kind, event.provider_refund_id, event.amount, event.reference) == (
        EventKind.REFUND_SUCCEEDED,
        rest.provider_refund_id,
        8000,
        "bo-ord-1",
    )
    charged = provider.parse_webhook(charge.headers, charge.body)
    assert (charged.kind, charged.provider_transaction_id) == (EventKind.REFUND_SUCCEEDED, intent)
    with pytest.raises(ProviderError) as exc:
        await provider.refund_payment(refund(session_id, intent, "rf-3", 1))
    assert (exc.value.status, exc.value.retryable) == (400, False)


async def test_refund_failure(fake, provider):
    session_id, intent = await paid_session(fake, provider)
    result = await provider.refund_payment(refund(session_id, intent, "rf-1", 12000))
    fake.refund_outcome = "failed"
    (webhook,) = await fake.settle_refund(result.provider_refund_id)
    read = await provider.verify_refund(result.provider_refund_id, refund(session_id, intent, "rf-1", 12000))
    assert (read.state, read.error) == (RefundState.FAILED, "expired_or_canceled_card")
    event = provider.parse_webhook(webhook.headers, webhook.body)
    assert (event.kind, event.raw_type) == (EventKind.REFUND_FAILED, "refund.failed")


async def test_delivered_completion_webhooks_map_to_the_order(fake, provider):
    sink = WebhookSink()
    with serve(sink.app) as sink_url:
        fake.webhook_url = f"{sink_url}/webhook"
        session_id, intent = await paid_session(fake, provider)
    events = {e.raw_type: e for e in (provider.parse_webhook(w.headers, w.body) for w in sink.received)}
    completed, succeeded = events["checkout.session.completed"], events["payment_intent.succeeded"]
    assert (completed.kind, completed.provider_reference, completed.reference) == (
        EventKind.PAYMENT_SUCCEEDED,
        session_id,
        "bo-ord-1",
    )
    assert (completed.provider_transaction_id, completed.amount, completed.currency) == (intent, 12000, "EUR")
    assert (succeeded.kind, succeeded.reference, succeeded.provider_transaction_id) == (
        EventKind.PAYMENT_SUCCEEDED,
        "bo-ord-1",
        intent,
    )
    assert completed.event_id.startswith("evt_") and completed.event_id != succeeded.event_id
