"""Only the buyer's own link opens the sandbox's payment page or the page buyers return to: each carries an HMAC
of its reference or order id (``sandbox.links``); a missing or wrong one is answered like an unknown payment.

Before issue 10 the page ``/sandbox/pay/{reference}`` and the return page ``/checkout/complete?order_id=…`` opened
without a signature: knowing an order id was enough to decline someone's payment or read their order's status, so these tests failed
there (the unsigned page answered 200 and its Decline worked).
"""

from __future__ import annotations

import email
import email.policy
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlmodel import col, select

from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.messaging import confirmation_cause, message_id_for
from boxoffice.models import SandboxPayment
from boxoffice.sandbox import links
from tests.checkout_helpers import checkout, hold, press, setup_sale, wait_order
from tests.harness import JWT_SECRET, SANDBOX_WEBHOOK_SECRET, Tokens


async def _payment(db: Database, reference: str) -> SandboxPayment:
    async with db.session() as s:
        found = (await s.execute(select(SandboxPayment).where(col(SandboxPayment.reference) == reference))).scalar_one()
        return found


async def test_only_the_signed_link_opens_the_payment_page(
    api: httpx.AsyncClient, tokens: Tokens, db: Database, settings: Settings, worker: Any
) -> None:
    _event, tt = await setup_sale(api, tokens)
    r = await checkout(api, tokens, [await hold(api, tokens, tt["id"], 1)])
    assert r.status_code == 201, r.text
    order_id, payment_url = r.json()["order_id"], r.json()["payment_url"]
    reference = f"bo-{order_id}"
    signature = links.signature(SANDBOX_WEBHOOK_SECRET, links.PAY_PAGE, reference)
    assert payment_url == f"http://testserver/sandbox/pay/{reference}?{urlencode({'sig': signature})}"

    forged = [
        f"/sandbox/pay/{reference}",  # the old, unsigned page
        f"/sandbox/pay/{reference}?sig={'A' * len(signature)}",
        f"/sandbox/pay/{reference}?{urlencode({'sig': signature[:-1]})}",
        f"/sandbox/pay/{reference}?{urlencode({'sig': links.signature(SANDBOX_WEBHOOK_SECRET, links.RETURN_PAGE, reference)})}",
        f"/sandbox/pay/{reference}?{urlencode({'sig': links.signature('another secret', links.PAY_PAGE, reference)})}",
    ]
    for path in forged:
        page = await api.get(path)
        assert page.status_code == 404 and reference not in page.text, (path, page.text)
        decline = await api.post(path, data={"action": "decline", "webhook": "normal"})
        assert decline.status_code == 404, (path, decline.text)
    assert (await _payment(db, reference)).status == "pending"  # nobody but the buyer decided anything

    # The buyer's own link works; after paying, the provider sends them to the signed return page.
    paid = await press(api, payment_url, "pay")
    assert paid.status_code == 303
    back = paid.headers["location"]
    assert back == links.checkout_complete_url("http://testserver", JWT_SECRET, order_id)
    order = await wait_order(api, tokens.buyer(), order_id, lambda o: o["status"] == "fulfilled")
    assert order["status"] == "fulfilled"
    assert (await _payment(db, reference)).return_url == back
    # The confirmation e-mail links to the same signed page.
    eml = settings.outbox_dir / f"{message_id_for(confirmation_cause(order_id))}.eml"
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    texts = [part.get_content() for part in message.walk() if part.get_content_type() == "text/plain"]
    assert any(back in text for text in texts), texts


async def test_only_the_signed_return_link_shows_the_order(api: httpx.AsyncClient, tokens: Tokens, worker: Any) -> None:
    _event, tt = await setup_sale(api, tokens)
    r = await checkout(api, tokens, [await hold(api, tokens, tt["id"], 1)])
    order_id = r.json()["order_id"]
    good = httpx.URL(links.checkout_complete_url("http://testserver", JWT_SECRET, order_id))
    page = await api.get(good.path, params=good.params)
    assert page.status_code == 200 and "pending" in page.text

    sig = good.params["sig"]
    for params in (
        {"order_id": order_id},
        {"order_id": order_id, "sig": ""},
        {"order_id": order_id, "sig": sig[::-1]},
        {"order_id": str(uuid.uuid4()), "sig": sig},  # a good signature for another order
        {"order_id": order_id, "sig": links.signature(SANDBOX_WEBHOOK_SECRET, links.RETURN_PAGE, order_id)},
    ):
        page = await api.get("/checkout/complete", params=params)
        assert page.status_code == 404 and "pending" not in page.text, (params, page.text)


def test_signatures_are_per_secret_purpose_and_subject() -> None:
    base = links.signature("s", links.PAY_PAGE, "bo-1")
    assert len(base) == 24 and base == links.signature("s", links.PAY_PAGE, "bo-1")
    others = {
        links.signature("t", links.PAY_PAGE, "bo-1"),
        links.signature("s", links.RETURN_PAGE, "bo-1"),
        links.signature("s", links.PAY_PAGE, "bo-2"),
    }
    assert base not in others and len(others) == 3
    assert links.verified("s", links.PAY_PAGE, "bo-1", base)
    assert not links.verified("s", links.PAY_PAGE, "bo-1", None)
