"""A stateful fake of the Yoco Checkout API (docs/providers.md): checkouts, checkout refunds with Idempotency-Key, and
Standard Webhooks signatures (HMAC-SHA256 over ``{id}.{timestamp}.{body}``, keyed with the base64-decoded secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import FakeProvider, SignedWebhook


def _error(status: int, message: str, code: str) -> JSONResponse:
    # Yoco's error body shape is unverified; this mirrors the fields the client reads defensively.
    return JSONResponse({"errorCode": code, "errorMessage": message, "displayMessage": message}, status_code=status)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


@dataclass
class YocoFake(FakeProvider):
    """Control API: ``complete_payment(checkout_id)``, ``decline_payment(checkout_id)``, ``expire_checkout(checkout_id)``,
    ``settle_refund(refund_id, succeed=None)``, ``sign(event, timestamp=None)``. A ``sk_test_`` key runs in test mode,
    where (as at Yoco) payments cannot be refunded: use an ``sk_live_`` key to exercise refunds."""

    name: str = "yoco"
    secret_key: str = "sk_live_yoco_fake"
    webhook_secret: str = "whsec_" + base64.b64encode(b"yoco-fake-webhook-secret-32bytes").decode()
    refund_outcome: str = "succeeded"  # or "failed"
    checkouts: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)

    def routes(self) -> list[Route]:
        e = self.endpoint
        return [
            Route("/api/checkouts", e(self._create_checkout), methods=["POST"]),
            Route("/api/checkouts/{checkout_id}", e(self._get_checkout), methods=["GET"]),
            Route("/api/checkouts/{checkout_id}/refund", e(self._refund), methods=["POST"]),
            Route("/pay/{checkout_id}", self._page, methods=["GET"]),
        ]

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"

    def error_response(self, status: int, message: str) -> Response:
        return _error(status, message, "server_error")

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.secret_key}"

    async def _idempotent(self, request: Request, run: Any) -> Response:
        """Replay the first reply for a reused Idempotency-Key (header Idempotent-Replayed: true); 422 on a changed
        payload."""
        raw = await request.body()
        payload = json.loads(raw) if raw else {}
        return self.idempotent(
            request.headers.get("idempotency-key"),
            f"{request.url.path}|{json.dumps(payload, sort_keys=True)}",
            lambda: run(payload),
            lambda: _error(422, "Idempotency key reused with a different payload", "idempotency_key_mismatch"),
        )

    async def _create_checkout(self, request: Request) -> Response:
        if not self._authorised(request):
            return _error(403, "Forbidden", "forbidden")
        return await self._idempotent(request, self._new_checkout)

    def _new_checkout(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        amount = body.get("amount")
        if not isinstance(amount, int) or amount < 200:
            return 400, {"errorCode": "invalid_amount", "errorMessage": "amount must be at least 200 cents"}
        if body.get("currency") != "ZAR":
            return 400, {"errorCode": "invalid_currency", "errorMessage": "currency must be ZAR"}
        checkout_id = _new_id("ch")
        checkout = {
            "id": checkout_id,
            "status": "created",
            "amount": amount,
            "currency": "ZAR",
            "redirectUrl": f"{self.base_url}/pay/{checkout_id}",
            "successUrl": body.get("successUrl"),
            "cancelUrl": body.get("cancelUrl"),
            "failureUrl": body.get("failureUrl"),
            "metadata": body.get("metadata") or {},
            "paymentId": None,
            "processingMode": "test" if self.secret_key.startswith("sk_test_") else "live",
        }
        self.checkouts[checkout_id] = checkout | {"refunded": 0}
        return 200, checkout

    async def _get_checkout(self, request: Request) -> Response:
        if not self._authorised(request):
            return _error(403, "Forbidden", "forbidden")
        with self.lock:
            checkout = self.checkouts.get(request.path_params["checkout_id"])
            if checkout is None:
                return _error(404, "Checkout not found", "not_found")
            return JSONResponse({k: v for k, v in checkout.items() if k != "refunded"})

    async def _refund(self, request: Request) -> Response:
        if not self._authorised(request):
            return _error(403, "Forbidden", "forbidden")
        checkout_id = request.path_params["checkout_id"]
        return await self._idempotent(request, lambda body: self._new_refund(checkout_id, body))

    def _new_refund(self, checkout_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        checkout = self.checkouts.get(checkout_id)
        if checkout is None:
            return 404, {"errorCode": "not_found", "errorMessage": "Checkout not found"}
        if checkout["status"] != "completed":
            return 400, {"errorCode": "not_refundable", "errorMessage": "Checkout has no successful payment"}
        if checkout["processingMode"] == "test":
            return 400, {"errorCode": "not_refundable", "errorMessage": "Test-mode payments cannot be refunded"}
        remaining = checkout["amount"] - checkout["refunded"]
        amount = body.get("amount", remaining)
        if not isinstance(amount, int) or amount <= 0 or amount > remaining:
            return 400, {"errorCode": "invalid_amount", "errorMessage": "Refund amount exceeds the refundable amount"}
        checkout["refunded"] += amount
        refund_id = _new_id("rfd")
        self.refunds[refund_id] = {"id": refund_id, "checkoutId": checkout_id, "amount": amount, "status": "pending"}
        return 202, {"id": checkout_id, "refundId": refund_id, "message": "Refund requested", "status": "successful"}

    async def _page(self, request: Request) -> Response:
        return HTMLResponse("<h1>Fake Yoco checkout</h1>")

    # --- control API --------------------------------------------------------------------------------------------
    def sign(self, event: dict[str, Any], timestamp: int | None = None) -> SignedWebhook:
        """``event`` serialised and signed with the Standard Webhooks scheme, as Yoco sends it."""
        body = json.dumps(event, separators=(",", ":")).encode()
        msg_id, ts = str(event["id"]), str(int(time.time()) if timestamp is None else timestamp)
        key = base64.b64decode(self.webhook_secret.removeprefix("whsec_"))
        digest = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": ts,
            "webhook-signature": f"v1,{base64.b64encode(digest).decode()}",
        }
        return SignedWebhook(headers, body)

    def _event(self, event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
        created = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        return {"id": _new_id("evt"), "type": event_type, "createdDate": created, "payload": payload}

    async def complete_payment(self, checkout_id: str) -> SignedWebhook:
        """The buyer pays: the checkout completes with a payment ``p_…`` and ``payment.succeeded`` is emitted."""
        with self.lock:
            checkout = self.checkouts[checkout_id]
            checkout |= {"status": "completed", "paymentId": _new_id("p")}
            payload = self._payment_payload(checkout, "succeeded")
        return await self.emit(self.sign(self._event("payment.succeeded", payload)))

    async def decline_payment(self, checkout_id: str) -> SignedWebhook:
        """The payment fails: checkout status "failed" and a ``payment.failed`` event (both unverified at Yoco)."""
        with self.lock:
            checkout = self.checkouts[checkout_id]
            checkout |= {"status": "failed", "paymentId": _new_id("p")}
            payload = self._payment_payload(checkout, "failed")
        return await self.emit(self.sign(self._event("payment.failed", payload)))

    def expire_checkout(self, checkout_id: str) -> None:
        """The checkout page expires unpaid (no webhook)."""
        with self.lock:
            self.checkouts[checkout_id]["status"] = "expired"

    @staticmethod
    def _payment_payload(checkout: dict[str, Any], status: str) -> dict[str, Any]:
        metadata = {**checkout["metadata"], "checkoutId": checkout["id"]}
        return {
            "id": checkout["paymentId"],
            "type": "payment",
            "amount": checkout["amount"],
            "currency": "ZAR",
            "status": status,
            "mode": checkout["processingMode"],
            "metadata": metadata,
        }

    async def settle_refund(self, refund_id: str, succeed: bool | None = None) -> SignedWebhook:
        """Finish a refund (``refund_outcome`` unless ``succeed`` says) and emit ``refund.succeeded|failed``."""
        with self.lock:
            refund = self.refunds[refund_id]
            ok = self.refund_outcome == "succeeded" if succeed is None else succeed
            refund["status"] = "succeeded" if ok else "failed"
            checkout = self.checkouts[refund["checkoutId"]]
            if not ok:
                checkout["refunded"] -= refund["amount"]
            payload = {
                "id": refund_id,
                "type": "refund",
                "paymentId": checkout["paymentId"],
                "amount": refund["amount"],
                "currency": "ZAR",
                "status": refund["status"],
                "metadata": {**checkout["metadata"], "checkoutId": checkout["id"]},
            }
        return await self.emit(self.sign(self._event(f"refund.{refund['status']}", payload)))
