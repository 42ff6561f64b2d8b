"""A stateful fake of the Stripe API (docs/providers.md): Checkout Sessions, payment intents, refunds, form-encoded
bracket params, Idempotency-Key replay, and ``Stripe-Signature: t=…,v1=…`` webhooks (HMAC-SHA256 keyed with ``whsec_…``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import FakeProvider, SignedWebhook


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket keys (``a[b][0][c]=v``) back into nested dicts; dicts with keys 0..n-1 become lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def fix(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        fixed = {k: fix(v) for k, v in node.items()}
        if fixed and all(k.isdigit() for k in fixed) and sorted(map(int, fixed)) == list(range(len(fixed))):
            return [fixed[str(i)] for i in range(len(fixed))]
        return fixed

    return fix(root)


def _error(status: int, message: str, type_: str = "invalid_request_error", **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"type": type_, "message": message, **extra}}, status_code=status)


def _id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


@dataclass
class StripeFake(FakeProvider):
    """Control API: ``complete_payment(session_id, async_payment=False)``, ``settle_async_payment(session_id,
    succeed)``, ``decline_payment(session_id)``, ``expire_session(session_id)``, ``settle_refund(refund_id,
    succeed=None)``, ``sign(event, timestamp=None)``. Each returns the webhooks it emitted."""

    secret_key: str = "sk_test_stripe_fake"
    webhook_secret: str = "whsec_stripe_fake_secret"
    refund_outcome: str = "succeeded"  # or "failed": what settle_refund does by default
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotency: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)

    def routes(self) -> list[Route]:
        e = self.endpoint
        return [
            Route("/v1/checkout/sessions", e(self._post(self._create_session)), methods=["POST"]),
            Route("/v1/checkout/sessions/{sid}", e(self._get_session), methods=["GET"]),
            Route("/v1/checkout/sessions/{sid}/expire", e(self._post(self._expire)), methods=["POST"]),
            Route("/v1/refunds", e(self._post(self._create_refund)), methods=["POST"]),
            Route("/v1/refunds/{rid}", e(self._get_refund), methods=["GET"]),
            Route("/pay/{sid}", self._page, methods=["GET"]),
        ]

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v1"

    def error_response(self, status: int, message: str) -> Response:
        return _error(status, message, "api_error")

    def _unauthorised(self, request: Request) -> Response | None:
        if request.headers.get("authorization") == f"Bearer {self.secret_key}":
            return None
        return _error(401, "Invalid API Key provided")

    def _post(self, run: Any) -> Any:
        """Authenticate, parse the form, and apply Idempotency-Key semantics: the first executed result is replayed;
        the same key with other parameters is an ``idempotency_error``; validation failures are not stored."""

        async def handler(request: Request) -> Response:
            if (denied := self._unauthorised(request)) is not None:
                return denied
            params = unflatten(parse_qsl((await request.body()).decode(), keep_blank_values=True))
            key = request.headers.get("idempotency-key")
            fingerprint = f"{request.url.path}|{json.dumps(params, sort_keys=True)}"
            with self.lock:
                if key and key in self.idempotency:
                    seen, status, body = self.idempotency[key]
                    if seen != fingerprint:
                        return _error(
                            400,
                            "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                            "idempotency_error",
                        )
                    return JSONResponse(body, status_code=status, headers={"Idempotent-Replayed": "true"})
                status, body = run(request, params)
                if key and (status < 400 or status >= 500):
                    self.idempotency[key] = (fingerprint, status, body)
            return JSONResponse(body, status_code=status)

        return handler

    # --- API ------------------------------------------------------------------------------------------------------
    def _create_session(self, request: Request, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        items = p.get("line_items") or []
        if p.get("mode") != "payment" or not p.get("success_url") or not isinstance(items, list) or not items:
            return 400, {
                "error": {"type": "invalid_request_error", "message": "Missing required param", "param": "line_items"}
            }
        if len(items) > 100:
            return 400, {
                "error": {"type": "invalid_request_error", "message": "Too many line items", "param": "line_items"}
            }
        try:
            currencies = {i["price_data"]["currency"] for i in items}
            total = sum(int(i["price_data"]["unit_amount"]) * int(i.get("quantity", 1)) for i in items)
        except (KeyError, TypeError, ValueError):
            return 400, {
                "error": {"type": "invalid_request_error", "message": "Invalid line_items", "param": "line_items"}
            }
        now = int(time.time())
        expires_at = int(p.get("expires_at", now + 86400))
        if not now + 1800 <= expires_at <= now + 86400:
            msg = "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation."
            return 400, {"error": {"type": "invalid_request_error", "message": msg, "param": "expires_at"}}
        sid = _id("cs")
        session = {
            "id": sid,
            "object": "checkout.session",
            "url": f"{self.base_url}/pay/{sid}",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "payment_intent": None,
            "amount_total": total,
            "currency": currencies.pop() if len(currencies) == 1 else None,
            "client_reference_id": p.get("client_reference_id"),
            "customer_email": p.get("customer_email"),
            "metadata": p.get("metadata") or {},
            "success_url": p["success_url"],
            "cancel_url": p.get("cancel_url"),
            "expires_at": expires_at,
            "_intent_metadata": (p.get("payment_intent_data") or {}).get("metadata") or {},
        }
        self.sessions[sid] = session
        return 200, self._public(session)

    async def _get_session(self, request: Request) -> Response:
        if (denied := self._unauthorised(request)) is not None:
            return denied
        with self.lock:
            session = self.sessions.get(request.path_params["sid"])
            if session is None:
                return _error(404, "No such checkout.session", code="resource_missing")
            body = self._public(session)
            if "payment_intent" in request.query_params.getlist("expand[]") and body["payment_intent"]:
                body["payment_intent"] = dict(self.intents[body["payment_intent"]])
        return JSONResponse(body)

    def _expire(self, request: Request, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        session = self.sessions.get(request.path_params["sid"])
        if session is None or session["status"] != "open":
            return 400, {"error": {"type": "invalid_request_error", "message": "Only open sessions can be expired"}}
        session["status"] = "expired"
        return 200, self._public(session)

    def _create_refund(self, request: Request, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(p.get("payment_intent", ""))
        if intent is None:
            return 404, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "message": "No such payment_intent",
                }
            }
        if intent["status"] != "succeeded":
            return 400, {
                "error": {"type": "invalid_request_error", "code": "charge_not_captured", "message": "Not paid"}
            }
        remaining = intent["amount_received"] - intent["_refunded"]
        amount = int(p.get("amount", remaining))
        if remaining == 0:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "charge_already_refunded",
                    "message": "Already refunded",
                }
            }
        if amount <= 0 or amount > remaining:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "code": "amount_too_large",
                    "message": "Amount too large",
                    "param": "amount",
                }
            }
        intent["_refunded"] += amount
        rid = _id("re")
        refund = {
            "id": rid,
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "charge": intent["latest_charge"],
            "status": "pending",
            "metadata": p.get("metadata") or {},
            "failure_reason": None,
        }
        self.refunds[rid] = refund
        return 200, dict(refund)

    async def _get_refund(self, request: Request) -> Response:
        if (denied := self._unauthorised(request)) is not None:
            return denied
        with self.lock:
            refund = self.refunds.get(request.path_params["rid"])
            if refund is None:
                return _error(404, "No such refund", code="resource_missing")
            return JSONResponse(dict(refund))

    async def _page(self, request: Request) -> Response:
        return HTMLResponse("<h1>Fake Stripe Checkout</h1>")

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    # --- control API ------------------------------------------------------------------------------------------------
    def sign(self, event: dict[str, Any], timestamp: int | None = None) -> SignedWebhook:
        """``event`` serialised and signed exactly as Stripe signs webhooks."""
        body = json.dumps(event, separators=(",", ":")).encode()
        t = int(time.time()) if timestamp is None else timestamp
        mac = hmac.new(self.webhook_secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        return SignedWebhook({"content-type": "application/json", "stripe-signature": f"t={t},v1={mac}"}, body)

    async def _send(self, event_type: str, obj: dict[str, Any]) -> SignedWebhook:
        event = {
            "id": _id("evt"),
            "object": "event",
            "created": int(time.time()),
            "livemode": False,
            "type": event_type,
            "data": {"object": self._public(obj)},
        }
        return await self.emit(self.sign(event))

    def _new_intent(self, session: dict[str, Any], status: str) -> dict[str, Any]:
        pid = _id("pi")
        intent = {
            "id": pid,
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_received": session["amount_total"] if status == "succeeded" else 0,
            "currency": session["currency"],
            "status": status,
            "metadata": dict(session["_intent_metadata"]),
            "latest_charge": _id("ch"),
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
