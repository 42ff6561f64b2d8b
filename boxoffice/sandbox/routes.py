"""The built-in sandbox provider's side: its API (for our provider client), its hosted payment page, and the
page buyers return to. On Pay or Decline it posts a signed webhook to our own endpoint, as a real provider does."""

from __future__ import annotations

import hmac
import html
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from boxoffice.api.deps import DbDep, SessionDep, SettingsDep
from boxoffice.api.schemas import Text
from boxoffice.errors import NotFound, Unauthorized, ValidationFailed
from boxoffice.logging import get_logger
from boxoffice.models import Order
from boxoffice.models.types import utcnow
from boxoffice.money import format_money
from boxoffice.payments.sandbox import SIGNATURE_HEADER, sign
from boxoffice.sandbox import bank, links
from boxoffice.sandbox.bank import PaymentIn, RefundIn

router = APIRouter(tags=["sandbox"])
log = get_logger(__name__)


def _enabled(settings: Any) -> None:
    if not settings.sandbox_on:
        raise NotFound("the sandbox provider is disabled here", code="sandbox_disabled")


def _auth(settings: Any, authorization: str | None) -> None:
    _enabled(settings)
    expected = f"Bearer {settings.sandbox_webhook_secret}"
    if not authorization or not hmac.compare_digest(authorization, expected):
        raise Unauthorized("invalid sandbox API key", code="invalid_api_key")


@router.post("/sandbox/api/payments", include_in_schema=False)
async def create_payment(
    body: PaymentIn, session: SessionDep, settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    _auth(settings, authorization)
    p = await bank.create_payment(session, body, utcnow())
    await session.commit()
    return bank.view(p, settings.public_url, settings.sandbox_webhook_secret)


@router.get("/sandbox/api/payments/{reference}", include_in_schema=False)
async def read_payment(
    reference: Text, session: SessionDep, settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    _auth(settings, authorization)
    return bank.view(await bank.get_payment(session, reference), settings.public_url, settings.sandbox_webhook_secret)


@router.post("/sandbox/api/refunds", include_in_schema=False)
async def refund(
    body: RefundIn, session: SessionDep, settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    _auth(settings, authorization)
    record = await bank.refund(session, body, utcnow())
    await session.commit()
    return record


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sandbox payment</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}
.amount{{font-size:2rem;margin:.5rem 0}}button{{font-size:1.1rem;padding:.6rem 1.4rem;margin-right:.5rem}}
.muted{{color:#666;font-size:.9rem}}</style></head><body>
<h1>Boxoffice sandbox</h1><p class="muted">A test payment page: no real money moves.</p>
<p>{description}</p><p class="amount">{amount}</p><p>Status: <strong>{status}</strong></p>
{form}</body></html>"""

FORM = """<form method="post" action="{action}">
<p><label>Webhook delivery <select name="webhook"><option value="normal">normal</option>
<option value="drop">drop (the checkout must find out by polling)</option>
<option value="duplicate">duplicate</option></select></label></p>
<button name="action" value="pay">Pay</button><button name="action" value="decline">Decline</button></form>"""


Signature = Annotated[Text | None, Query(max_length=64)]


async def _signed_payment(session: Any, settings: Any, reference: str, signature: str | None) -> Any:
    """The payment a signed page link names; a wrong signature is answered as an unknown reference."""
    _enabled(settings)
    if not links.verified(settings.sandbox_webhook_secret, links.PAY_PAGE, reference, signature):
        raise NotFound("no such sandbox payment", code="sandbox_payment_not_found")
    return await bank.get_payment(session, reference)


def _amount(minor: int, currency: str, locale: str) -> str:
    """The amount with the currency's own ISO 4217 decimals (¥1,500, ZAR 150.00, KWD 1.500)."""
    try:
        return format_money(minor, currency, locale)
    except ValueError:  # not an ISO currency (the sandbox API takes any three letters): show the raw minor units
        return f"{minor} {currency} (minor units)"


@router.get("/sandbox/pay/{reference}", response_class=HTMLResponse, include_in_schema=False)
async def pay_page(reference: Text, session: SessionDep, settings: SettingsDep, sig: Signature = None) -> HTMLResponse:
    p = await _signed_payment(session, settings, reference, sig)
    action = html.escape(links.pay_page_path(settings.sandbox_webhook_secret, reference))
    form = FORM.format(action=action) if p.status == "pending" else ""
    return HTMLResponse(
        PAGE.format(
            description=html.escape(p.description),
            amount=html.escape(_amount(p.amount, p.currency, settings.locale)),
            status=html.escape(p.status),
            form=form,
        )
    )


@router.post("/sandbox/pay/{reference}", include_in_schema=False)
async def pay_action(
    reference: Text,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    action: Annotated[str, Form(pattern="^(pay|decline)$")],
    webhook: Annotated[str, Form()] = "normal",
    sig: Signature = None,
) -> RedirectResponse:
    await _signed_payment(session, settings, reference, sig)
    if webhook not in ("normal", "drop", "duplicate"):
        raise ValidationFailed("webhook must be normal, drop or duplicate", code="validation_error")
    p = await bank.decide(session, reference, action, utcnow())
    await session.commit()
    body = bank.webhook_body(p, "payment.succeeded" if action == "pay" else "payment.declined")
    if webhook != "drop":
        for _ in range(2 if webhook == "duplicate" else 1):
            await post_webhook(request, settings, body)
    target = p.return_url if action == "pay" else (p.cancel_url or p.return_url)
    page = links.pay_page_path(settings.sandbox_webhook_secret, reference)
    return RedirectResponse(target or page, status_code=303)


async def post_webhook(request: Request, settings: Any, body: bytes) -> int:
    """Deliver a sandbox webhook to our own endpoint as a provider would: signed raw body, over HTTP."""
    try:
        r = await request.app.state.outbound.post(
            f"{settings.public_url}/v1/webhooks/sandbox",
            content=body,
            headers={"content-type": "application/json", SIGNATURE_HEADER: sign(settings.sandbox_webhook_secret, body)},
        )
        return int(r.status_code)
    except Exception as exc:  # a provider's delivery failing is not the buyer's problem; polling covers it
        log.warning("sandbox webhook delivery failed", error=repr(exc))
        return 0


@router.get("/checkout/complete", response_class=HTMLResponse, include_in_schema=False)
async def checkout_complete(
    order_id: uuid.UUID, db: DbDep, settings: SettingsDep, sig: Annotated[Text | None, Query(max_length=64)] = None
) -> HTMLResponse:
    """Where buyers land after paying: the order's status, through the signed link the checkout gave the provider
    (an order id alone shows nothing)."""
    if not links.verified(settings.jwt_secret, links.RETURN_PAGE, str(order_id), sig):
        return HTMLResponse("<!doctype html><title>Not found</title><h1>Not found</h1>", status_code=404)
    async with db.session() as s:
        order = await s.get(Order, order_id)
    status = order.status if order else "unknown"
    return HTMLResponse(
        f"<!doctype html><title>Order {html.escape(str(order_id))}</title>"
        f"<h1>Thank you</h1><p>Order status: <strong>{html.escape(status)}</strong>. "
        "Your tickets arrive by e-mail once the payment is confirmed.</p>"
    )
