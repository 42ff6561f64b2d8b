"""Webhook signature verification against headers made by the official libraries (stripe, standardwebhooks) and, for
Paystack (no official library), by the documented HMAC-SHA512 scheme: good ones pass, everything else is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest
import stripe
from standardwebhooks import Webhook

from boxoffice.payments.base import EventKind, InvalidSignature
from boxoffice.payments.paystack import PaystackProvider
from boxoffice.payments.stripe_provider import StripeProvider
from boxoffice.payments.yoco import YocoProvider

NOWHERE = "http://127.0.0.1:9"  # parse_webhook makes no HTTP calls

# --- Stripe ---------------------------------------------------------------------------------------------------

STRIPE_SECRET = "whsec_test_stripe_signing_secret"
STRIPE_BODY = json.dumps(
    {
        "id": "evt_1",
        "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_1", "payment_status": "paid", "amount_total": 900, "currency": "usd",
                            "client_reference_id": "ord-9", "metadata": {}, "payment_intent": "pi_1"}},
    }
).encode()  # fmt: skip


def stripe_header(body: bytes = STRIPE_BODY, secret: str = STRIPE_SECRET, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp or int(time.time()))


def _raw_stripe_header(body: bytes) -> str:
    t = int(time.time())
    return f"t={t},v1={hmac.new(STRIPE_SECRET.encode(), f'{t}.'.encode() + body, hashlib.sha256).hexdigest()}"


@pytest.fixture
def stripe_provider() -> StripeProvider:
    return StripeProvider("sk_test_x", NOWHERE, STRIPE_SECRET)


def test_stripe_accepts_the_library_signature_in_any_header_case(stripe_provider):
    event = stripe_provider.parse_webhook({"Stripe-Signature": stripe_header()}, STRIPE_BODY)
    assert (event.event_id, event.kind, event.reference) == ("evt_1", EventKind.PAYMENT_SUCCEEDED, "bo-ord-9")
    assert (event.provider_reference, event.provider_transaction_id, event.currency) == ("cs_1", "pi_1", "USD")


def test_stripe_accepts_when_any_v1_signature_matches(stripe_provider):
    t = int(time.time())
    good = stripe.WebhookSignature._compute_signature(f"{t}.{STRIPE_BODY.decode()}", STRIPE_SECRET)
    header = f"t={t},v1={'0' * 64},v1={good}"
    assert stripe_provider.parse_webhook({"stripe-signature": header}, STRIPE_BODY).event_id == "evt_1"


@pytest.mark.parametrize(
    ("make_headers", "body"),
    [
        pytest.param(lambda: {"stripe-signature": stripe_header()}, STRIPE_BODY.replace(b"900", b"100"), id="tampered"),
        pytest.param(lambda: {"stripe-signature": stripe_header(secret="whsec_other")}, STRIPE_BODY, id="wrong-secret"),
        pytest.param(
            lambda: {"stripe-signature": stripe_header(timestamp=int(time.time()) - 301)}, STRIPE_BODY, id="stale"
        ),
        pytest.param(lambda: {}, STRIPE_BODY, id="missing-header"),
        pytest.param(lambda: {"stripe-signature": "garbage"}, STRIPE_BODY, id="malformed-header"),
        pytest.param(lambda: {"stripe-signature": _raw_stripe_header(b"\xff")}, b"\xff", id="not-utf8"),
    ],
)
def test_stripe_refuses(stripe_provider, make_headers, body):
    with pytest.raises(InvalidSignature):
        stripe_provider.parse_webhook(make_headers(), body)


# --- Yoco (Standard Webhooks) ----------------------------------------------------------------------------------

YOCO_SECRET = "whsec_" + base64.b64encode(b"yoco-signing-key-for-tests-0001").decode()
YOCO_BODY = json.dumps(
    {"id": "evt_y1", "type": "payment.succeeded", "createdDate": "2025-01-01T00:00:00Z",
     "payload": {"id": "p_1", "amount": 2500, "currency": "ZAR", "status": "succeeded",
                 "metadata": {"checkoutId": "ch_1", "reference": "bo-ord-1"}}}
).encode()  # fmt: skip


def yoco_headers(body: bytes = YOCO_BODY, secret: str = YOCO_SECRET, age: float = 0) -> dict[str, str]:
    ts = datetime.fromtimestamp(int(time.time() - age), UTC)
    signature = Webhook(secret).sign("evt_y1", ts, body.decode())
    return {"webhook-id": "evt_y1", "webhook-timestamp": str(int(ts.timestamp())), "webhook-signature": signature}


@pytest.fixture
def yoco_provider() -> YocoProvider:
    return YocoProvider("sk_test_x", NOWHERE, YOCO_SECRET)


def test_yoco_accepts_the_library_signature_in_any_header_case(yoco_provider):
    headers = {k.title(): v for k, v in yoco_headers(age=170).items()}  # inside the 3-minute window
    event = yoco_provider.parse_webhook(headers, YOCO_BODY)
    assert (event.event_id, event.kind, event.provider_reference) == ("evt_y1", EventKind.PAYMENT_SUCCEEDED, "ch_1")
    assert (event.provider_transaction_id, event.amount, event.reference) == ("p_1", 2500, "bo-ord-1")


def test_yoco_accepts_a_rotated_secret_list():
    headers = yoco_headers()
    other = Webhook("whsec_" + base64.b64encode(b"another-key").decode()).sign("evt_y1", datetime.now(UTC), "x")
    headers["webhook-signature"] = f"{other} {headers['webhook-signature']}"
    assert YocoProvider("sk", NOWHERE, YOCO_SECRET).parse_webhook(headers, YOCO_BODY).event_id == "evt_y1"


def _without(key: str) -> dict[str, str]:
    return {k: v for k, v in yoco_headers().items() if k != key}


@pytest.mark.parametrize(
    ("make_headers", "body"),
    [
        pytest.param(lambda: yoco_headers(), YOCO_BODY.replace(b"2500", b"25"), id="tampered"),
        pytest.param(
            lambda: yoco_headers(secret="whsec_" + base64.b64encode(b"wrong").decode()), YOCO_BODY, id="wrong-secret"
        ),
        # 200 s passes the library's own 5-minute window; Yoco's (and our) limit is 3 minutes.
        pytest.param(lambda: yoco_headers(age=200), YOCO_BODY, id="stale-3min"),
        pytest.param(lambda: yoco_headers(age=400), YOCO_BODY, id="stale-5min"),
        pytest.param(lambda: _without("webhook-signature"), YOCO_BODY, id="missing-signature"),
        pytest.param(lambda: _without("webhook-id"), YOCO_BODY, id="missing-id"),
        pytest.param(lambda: _without("webhook-timestamp"), YOCO_BODY, id="missing-timestamp"),
        pytest.param(lambda: {**yoco_headers(), "webhook-signature": "nonsense"}, YOCO_BODY, id="malformed-signature"),
        pytest.param(lambda: {**yoco_headers(), "webhook-id": "evt_other"}, YOCO_BODY, id="id-swapped"),
    ],
)
def test_yoco_refuses(yoco_provider, make_headers, body):
    with pytest.raises(InvalidSignature):
        yoco_provider.parse_webhook(make_headers(), body)


# --- Paystack ---------------------------------------------------------------------------------------------------

PAYSTACK_KEY = "sk_test_paystack_secret"
PAYSTACK_BODY = json.dumps(
    {"event": "charge.success", "data": {"id": 302961, "status": "success", "reference": "bo-ord-5", "amount": 10000,
                                         "currency": "NGN", "metadata": {"order_id": "ord-5"}}}
).encode()  # fmt: skip


def paystack_signature(body: bytes = PAYSTACK_BODY, key: str = PAYSTACK_KEY) -> str:
    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()


@pytest.fixture
def paystack_provider() -> PaystackProvider:
    return PaystackProvider(PAYSTACK_KEY, NOWHERE)


def test_paystack_accepts_the_documented_signature_in_any_header_case(paystack_provider):
    event = paystack_provider.parse_webhook({"X-Paystack-Signature": paystack_signature()}, PAYSTACK_BODY)
    assert (event.kind, event.reference, event.provider_transaction_id) == (
        EventKind.PAYMENT_SUCCEEDED,
        "bo-ord-5",
        "302961",
    )
    assert (event.amount, event.currency) == (10000, "NGN")
    again = paystack_provider.parse_webhook({"x-paystack-signature": paystack_signature()}, PAYSTACK_BODY)
    assert again.event_id == event.event_id  # derived from content: a redelivery dedupes


def test_paystack_event_ids_differ_between_events(paystack_provider):
    other = PAYSTACK_BODY.replace(b"bo-ord-5", b"bo-ord-6")
    first = paystack_provider.parse_webhook({"x-paystack-signature": paystack_signature()}, PAYSTACK_BODY)
    second = paystack_provider.parse_webhook({"x-paystack-signature": paystack_signature(other)}, other)
    assert first.event_id != second.event_id


@pytest.mark.parametrize(
    ("make_headers", "body"),
    [
        pytest.param(lambda: {"x-paystack-signature": paystack_signature()}, PAYSTACK_BODY + b" ", id="tampered"),
        pytest.param(
            lambda: {"x-paystack-signature": paystack_signature(key="sk_test_other")}, PAYSTACK_BODY, id="wrong-key"
        ),
        pytest.param(lambda: {}, PAYSTACK_BODY, id="missing-header"),
        pytest.param(lambda: {"x-paystack-signature": ""}, PAYSTACK_BODY, id="empty-header"),
        pytest.param(
            lambda: {
                "x-paystack-signature": hmac.new(PAYSTACK_KEY.encode(), PAYSTACK_BODY, hashlib.sha256).hexdigest()
            },
            PAYSTACK_BODY,
            id="sha256-instead-of-sha512",
        ),
    ],
)
def test_paystack_refuses(paystack_provider, make_headers, body):
    with pytest.raises(InvalidSignature):
        paystack_provider.parse_webhook(make_headers(), body)
