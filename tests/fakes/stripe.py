"""A stateful fake of the Stripe API (docs/providers.md): the API itself (``tests/fakes/stripe_api.py``) and the side
tests drive, the buyer paying, declining or abandoning a Checkout Session and refunds settling, with the
``Stripe-Signature: t=…,v1=…`` webhooks each sends (HMAC-SHA256 keyed with ``whsec_…``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from tests.fakes.server import SignedWebhook
from tests.fakes.stripe_api import StripeApi, new_id


@dataclass
class StripeFake(StripeApi):
    """Control API: ``complete_payment(session_id, async_payment=False)``, ``settle_async_payment(session_id,
    succeed)``, ``decline_payment(session_id)``, ``expire_session(session_id)``, ``settle_refund(refund_id,
    succeed=None)``, ``sign(event, timestamp=None)``. Each returns the webhooks it emitted."""

    refund_outcome: str = "succeeded"  # or "failed": what settle_refund does by default

    def sign(self, event: dict[str, Any], timestamp: int | None = None) -> SignedWebhook:
        """``event`` serialised and signed exactly as Stripe signs webhooks."""
        body = json.dumps(event, separators=(",", ":")).encode()
        t = int(time.time()) if timestamp is None else timestamp
        mac = hmac.new(self.webhook_secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        return SignedWebhook({"content-type": "application/json", "stripe-signature": f"t={t},v1={mac}"}, body)

    async def _send(self, event_type: str, obj: dict[str, Any]) -> SignedWebhook:
        event = {
            "id": new_id("evt"),
            "object": "event",
            "created": int(time.time()),
            "livemode": False,
            "type": event_type,
            "data": {"object": self.public(obj)},
        }
        return await self.emit(self.sign(event))

    def _new_intent(self, session: dict[str, Any], status: str) -> dict[str, Any]:
        pid = new_id("pi")
        intent = {
            "id": pid,
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_received": session["amount_total"] if status == "succeeded" else 0,
            "currency": session["currency"],
            "status": status,
            "metadata": dict(session["_intent_metadata"]),
            "latest_charge": new_id("ch"),
            "_refunded": 0,
        }
        self.intents[pid] = intent
        session["payment_intent"] = pid
        return intent

    async def complete_payment(self, session_id: str, *, async_payment: bool = False) -> list[SignedWebhook]:
        """The buyer pays. Card: session paid, ``payment_intent.succeeded`` + ``checkout.session.completed``. Delayed
        method (``async_payment``): session complete but unpaid, intent processing, ``checkout.session.completed``."""
        with self.lock:
            session = self.sessions[session_id]
            intent = self._new_intent(session, "processing" if async_payment else "succeeded")
            session |= {"status": "complete", "payment_status": "unpaid" if async_payment else "paid"}
            intent_copy, session_copy = dict(intent), dict(session)
        sent = [] if async_payment else [await self._send("payment_intent.succeeded", intent_copy)]
        return [*sent, await self._send("checkout.session.completed", session_copy)]

    async def settle_async_payment(self, session_id: str, succeed: bool) -> list[SignedWebhook]:
        """A delayed payment settles: ``checkout.session.async_payment_succeeded|failed``."""
        with self.lock:
            session = self.sessions[session_id]
            intent = self.intents[session["payment_intent"]]
            if succeed:
                intent |= {"status": "succeeded", "amount_received": intent["amount"]}
                session["payment_status"] = "paid"
            else:
                intent["status"] = "requires_payment_method"
            session_copy = dict(session)
        name = "succeeded" if succeed else "failed"
        return [await self._send(f"checkout.session.async_payment_{name}", session_copy)]

    async def decline_payment(self, session_id: str) -> list[SignedWebhook]:
        """A card is declined: the session stays open (the buyer may retry) and ``payment_intent.payment_failed``."""
        with self.lock:
            intent = dict(self._new_intent(self.sessions[session_id], "requires_payment_method"))
        return [await self._send("payment_intent.payment_failed", intent)]

    async def expire_session(self, session_id: str) -> list[SignedWebhook]:
        """The session expires unpaid: ``checkout.session.expired``."""
        with self.lock:
            session = self.sessions[session_id]
            session["status"] = "expired"
            session_copy = dict(session)
        return [await self._send("checkout.session.expired", session_copy)]

    async def settle_refund(self, refund_id: str, succeed: bool | None = None) -> list[SignedWebhook]:
        """Finish a pending refund: success emits ``refund.updated`` + ``charge.refunded``; failure ``refund.failed``."""
        with self.lock:
            refund = self.refunds[refund_id]
            ok = self.refund_outcome == "succeeded" if succeed is None else succeed
            intent = self.intents[refund["payment_intent"]]
            refund |= (
                {"status": "succeeded"} if ok else {"status": "failed", "failure_reason": "expired_or_canceled_card"}
            )
            if not ok:
                intent["_refunded"] -= refund["amount"]
            charge = {
                "id": intent["latest_charge"],
                "object": "charge",
                "payment_intent": intent["id"],
                "amount": intent["amount"],
                "amount_refunded": intent["_refunded"],
                "currency": intent["currency"],
                "metadata": dict(intent["metadata"]),
            }
            refund_copy = dict(refund)
        if not ok:
            return [await self._send("refund.failed", refund_copy)]
        return [await self._send("refund.updated", refund_copy), await self._send("charge.refunded", charge)]
