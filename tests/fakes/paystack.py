"""A stateful fake of the Paystack API (docs/providers.md): transaction/initialize, verify, refunds, and webhooks signed
``x-paystack-signature`` = hex HMAC-SHA512(secret key, raw body)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import FakeProvider, SignedWebhook

CURRENCIES = {"GHS", "KES", "NGN", "ZAR", "USD"}
_REFERENCE = re.compile(r"^[A-Za-z0-9.=-]+$")
_ids = itertools.count(4_000_000_001)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _ok(message: str, data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"status": True, "message": message, "data": data}, status_code=status)


def _fail(status: int, message: str, code: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"status": False, "message": message}
    if code:
        body |= {"type": "validation_error", "code": code}
    return JSONResponse(body, status_code=status)


@dataclass
class PaystackFake(FakeProvider):
    """Control API: ``complete_payment(reference)``, ``decline_payment(reference)``, ``settle_refund(refund_id,
    succeed=None)`` (None: use ``refund_outcome``), ``sign(event)``. State: ``transactions`` (by reference), ``refunds``."""

    name: str = "paystack"
    secret_key: str = "sk_test_paystack_fake"
    refund_outcome: str = "processed"  # or "failed": what settle_refund does by default
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[int, dict[str, Any]] = field(default_factory=dict)

    def routes(self) -> list[Route]:
        e = self.endpoint
        return [
            Route("/transaction/initialize", e(self._initialize), methods=["POST"]),
            Route("/transaction/verify/{reference}", e(self._verify), methods=["GET"]),
            Route("/refund", e(self._create_refund), methods=["POST"]),
            Route("/refund", e(self._list_refunds), methods=["GET"]),
            Route("/refund/{refund_id}", e(self._get_refund), methods=["GET"]),
            Route("/pay/{access_code}", self._page, methods=["GET"]),
        ]

    def error_response(self, status: int, message: str) -> Response:
        return _fail(status, message)

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.secret_key}"

    # --- API ----------------------------------------------------------------------------------------------------
    async def _initialize(self, request: Request) -> Response:
        if not self._authorised(request):
            return _fail(401, "Invalid key")
        body = await request.json()
        reference, amount, currency = body.get("reference"), body.get("amount"), body.get("currency", "NGN")
        if not body.get("email") or not isinstance(amount, int) or amount <= 0:
            return _fail(400, "Invalid email or amount", "invalid_params")
        if currency not in CURRENCIES:
            return _fail(400, "Currency not supported by merchant", "unsupported_currency")
        if not reference or not _REFERENCE.match(reference):
            return _fail(400, "Invalid reference", "invalid_params")
        with self.lock:
            if reference in self.transactions:
                return _fail(400, "Duplicate Transaction Reference", "duplicate_reference")
            access_code = secrets.token_hex(8)
            self.transactions[reference] = {
                "id": next(_ids),
                "status": "abandoned",  # what Paystack reports for an initialised, unpaid transaction
                "reference": reference,
                "amount": amount,
                "currency": currency,
                "metadata": body.get("metadata") or {},
                "customer": {"email": body["email"]},
                "callback_url": body.get("callback_url"),
                "paid_at": None,
                "gateway_response": None,
                "refunded": 0,
                "created_at": _now(),
            }
        url = f"{self.base_url}/pay/{access_code}"
        return _ok(
            "Authorization URL created", {"authorization_url": url, "access_code": access_code, "reference": reference}
        )

    async def _verify(self, request: Request) -> Response:
        if not self._authorised(request):
            return _fail(401, "Invalid key")
        with self.lock:
            txn = self.transactions.get(request.path_params["reference"])
            if txn is None:
                return _fail(404, "Transaction reference not found")
            return _ok("Verification successful", self._public(txn))

    def _find(self, transaction: Any) -> dict[str, Any] | None:
        for txn in self.transactions.values():
            if str(transaction) in (txn["reference"], str(txn["id"])):
                return txn
        return None

    async def _create_refund(self, request: Request) -> Response:
        if not self._authorised(request):
            return _fail(401, "Invalid key")
        body = await request.json()
        with self.lock:
            txn = self._find(body.get("transaction"))
            if txn is None:
                return _fail(404, "Transaction not found")
            if txn["status"] != "success":
                return _fail(400, "Cannot refund a transaction that was not successful", "transaction_not_successful")
            remaining = txn["amount"] - txn["refunded"]
            amount = body.get("amount", remaining)
            if not isinstance(amount, int) or amount <= 0 or amount > remaining:
                return _fail(
                    400, "Refund amount cannot be more than the remaining transaction amount", "invalid_amount"
                )
            txn["refunded"] += amount
            refund = {
                "id": next(_ids),
                "transaction": {"id": txn["id"], "reference": txn["reference"]},
                "amount": amount,
                "currency": body.get("currency", txn["currency"]),
                "merchant_note": body.get("merchant_note"),
                "status": "pending",
                "createdAt": _now(),
            }
            self.refunds[refund["id"]] = refund
            return _ok("Refund has been queued for processing", dict(refund))

    async def _list_refunds(self, request: Request) -> Response:
        if not self._authorised(request):
            return _fail(401, "Invalid key")
        wanted = request.query_params.get("transaction")
        with self.lock:
            txn = self._find(wanted) if wanted else None
            rows = [
                dict(r)
                for r in self.refunds.values()
                if wanted is None or (txn and r["transaction"]["id"] == txn["id"])
            ]
        return JSONResponse(
            {"status": True, "message": "Refunds retrieved", "data": rows, "meta": {"total": len(rows)}}
        )

    async def _get_refund(self, request: Request) -> Response:
        if not self._authorised(request):
            return _fail(401, "Invalid key")
        refund_id = request.path_params["refund_id"]
        with self.lock:
            refund = self.refunds.get(int(refund_id)) if refund_id.isdigit() else None
            if refund is None:
                return _fail(404, "Refund not found")
            return _ok("Refund retrieved", dict(refund))

    async def _page(self, request: Request) -> Response:
        return HTMLResponse("<h1>Fake Paystack checkout</h1>")

    @staticmethod
    def _public(txn: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in txn.items() if k not in ("refunded", "callback_url")}

    # --- control API --------------------------------------------------------------------------------------------
    def sign(self, event: dict[str, Any]) -> SignedWebhook:
        """``event`` serialised and signed exactly as Paystack signs webhooks."""
        body = json.dumps(event, separators=(",", ":")).encode()
        signature = hmac.new(self.secret_key.encode(), body, hashlib.sha512).hexdigest()
        return SignedWebhook({"content-type": "application/json", "x-paystack-signature": signature}, body)

    async def complete_payment(self, reference: str) -> SignedWebhook:
        """The buyer pays: the transaction succeeds and a ``charge.success`` webhook is emitted."""
        with self.lock:
            txn = self.transactions[reference]
            txn |= {"status": "success", "paid_at": _now(), "gateway_response": "Successful"}
            data = self._public(txn)
        return await self.emit(self.sign({"event": "charge.success", "data": data}))

    async def decline_payment(self, reference: str) -> None:
        """The card is declined: the transaction fails. Paystack sends no failure webhook."""
        with self.lock:
            self.transactions[reference] |= {"status": "failed", "gateway_response": "Declined"}

    async def settle_refund(self, refund_id: int | str, succeed: bool | None = None) -> SignedWebhook:
        """Finish a pending refund (``refund_outcome`` unless ``succeed`` says) and emit refund.processed|failed."""
        with self.lock:
            refund = self.refunds[int(refund_id)]
            ok = self.refund_outcome == "processed" if succeed is None else succeed
            refund["status"] = "processed" if ok else "failed"
            txn = self._find(refund["transaction"]["id"])
            if not ok and txn is not None:
                txn["refunded"] -= refund["amount"]
            data = {
                "id": refund["id"],
                "status": refund["status"],
                "transaction_reference": refund["transaction"]["reference"],
                "refund_reference": f"RFD{refund['id']}" if ok else None,
                "amount": str(refund["amount"]),  # Paystack sends refund amounts as strings
                "currency": refund["currency"],
                "domain": "test",
                "merchant_note": refund["merchant_note"],
            }
        return await self.emit(self.sign({"event": f"refund.{refund['status']}", "data": data}))
