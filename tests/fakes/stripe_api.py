"""The HTTP side of the Stripe fake (docs/providers.md), what the provider client calls: Checkout Sessions, payment
intents and refunds, form-encoded bracket params, Idempotency-Key replay, Stripe's error bodies. The buyer's side and
the webhooks are ``StripeFake`` in ``tests/fakes/stripe.py``."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import FakeProvider, Handler


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


def _invalid(message: str, status: int = 400, **extra: Any) -> tuple[int, dict[str, Any]]:
    """An ``invalid_request_error`` reply as (status, body), for handlers whose replies may be kept for replay."""
    return status, {"error": {"type": "invalid_request_error", "message": message, **extra}}


def new_id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


# Stripe's amount rules (docs.stripe.com/currencies), written out here independently of boxoffice.money so the fake
# catches an amount sent in the wrong unit. Zero-decimal currencies take whole units (1500 = ¥1,500); three-decimal
# ones take thousandths with a final 0; ISK and UGX take hundredths of whole units (500 = 5 ISK).
THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}
WHOLE_IN_HUNDREDTHS = {"isk", "ugx"}
# Minimum charge amounts Stripe documents, in its own units, for the currencies the tests charge in.
MINIMUM_CHARGE = {"usd": 50, "eur": 50, "gbp": 30, "jpy": 50}
MAX_AMOUNT = 99_999_999  # eight digits, in every currency


def amount_error(amount: int, currency: str) -> str | None:
    """Why Stripe would refuse ``amount`` (in its units) in ``currency``, or None."""
    if amount < 0 or amount > MAX_AMOUNT:
        return f"Amount must be between 0 and {MAX_AMOUNT}"
    if currency in THREE_DECIMAL and amount % 10:
        return f"Amounts in {currency.upper()} must end in 0 (three-decimal currency)"
    if currency in WHOLE_IN_HUNDREDTHS and amount % 100:
        return f"Amounts in {currency.upper()} must be whole units, given in hundredths"
    return None


@dataclass
class StripeApi(FakeProvider):
    """Stripe's API over ``sessions``, ``intents`` and ``refunds`` (objects as Stripe returns them; keys starting
    with ``_`` are the fake's own bookkeeping and never sent)."""

    name: str = "stripe"
    secret_key: str = "sk_test_stripe_fake"
    webhook_secret: str = "whsec_stripe_fake_secret"
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)

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

    def _post(self, run: Callable[[Request, dict[str, Any]], tuple[int, dict[str, Any]]]) -> Handler:
        """Authenticate, parse the form, and apply Idempotency-Key semantics: the first executed result is replayed;
        the same key with other parameters is an ``idempotency_error``; validation failures are not stored."""

        async def handler(request: Request) -> Response:
            if (denied := self._unauthorised(request)) is not None:
                return denied
            params = unflatten(parse_qsl((await request.body()).decode(), keep_blank_values=True))
            return self.idempotent(
                request.headers.get("idempotency-key"),
                f"{request.url.path}|{json.dumps(params, sort_keys=True)}",
                lambda: run(request, params),
                lambda: _error(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                    "idempotency_error",
                ),
                keep=lambda status: status < 400 or status >= 500,
            )

        return handler

    # --- API ------------------------------------------------------------------------------------------------------
    def _create_session(self, request: Request, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        items = p.get("line_items") or []
        if p.get("mode") != "payment" or not p.get("success_url") or not isinstance(items, list) or not items:
            return _invalid("Missing required param", param="line_items")
        if len(items) > 100:
            return _invalid("Too many line items", param="line_items")
        try:
            currencies = {i["price_data"]["currency"] for i in items}
            units = [int(i["price_data"]["unit_amount"]) for i in items]
            total = sum(u * int(i.get("quantity", 1)) for u, i in zip(units, items, strict=True))
        except (KeyError, TypeError, ValueError):
            return _invalid("Invalid line_items", param="line_items")
        currency = currencies.pop() if len(currencies) == 1 else None
        if currency is None:
            return _invalid("All line items must use the same currency", param="line_items")
        for error in (amount_error(u, currency) for u in [*units, total]):
            if error:
                return _invalid(error, param="line_items", code="amount_invalid")
        if total < MINIMUM_CHARGE.get(currency, 1):
            return _invalid("Amount must be at least the currency's minimum charge", code="amount_too_small")
        now = int(time.time())
        expires_at = int(p.get("expires_at", now + 86400))
        if not now + 1800 <= expires_at <= now + 86400:
            msg = "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation."
            return _invalid(msg, param="expires_at")
        sid = new_id("cs")
        session = {
            "id": sid,
            "object": "checkout.session",
            "url": f"{self.base_url}/pay/{sid}",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "payment_intent": None,
            "amount_total": total,
            "currency": currency,
            "client_reference_id": p.get("client_reference_id"),
            "customer_email": p.get("customer_email"),
            "metadata": p.get("metadata") or {},
            "success_url": p["success_url"],
            "cancel_url": p.get("cancel_url"),
            "expires_at": expires_at,
            "_intent_metadata": (p.get("payment_intent_data") or {}).get("metadata") or {},
        }
        self.sessions[sid] = session
        return 200, self.public(session)

    async def _get_session(self, request: Request) -> Response:
        if (denied := self._unauthorised(request)) is not None:
            return denied
        with self.lock:
            session = self.sessions.get(request.path_params["sid"])
            if session is None:
                return _error(404, "No such checkout.session", code="resource_missing")
            body = self.public(session)
            if "payment_intent" in request.query_params.getlist("expand[]") and body["payment_intent"]:
                body["payment_intent"] = dict(self.intents[body["payment_intent"]])
        return JSONResponse(body)

    def _expire(self, request: Request, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        session = self.sessions.get(request.path_params["sid"])
        if session is None or session["status"] != "open":
            return _invalid("Only open sessions can be expired")
        session["status"] = "expired"
        return 200, self.public(session)

    def _create_refund(self, request: Request, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(p.get("payment_intent", ""))
        if intent is None:
            return _invalid("No such payment_intent", 404, code="resource_missing")
        if intent["status"] != "succeeded":
            return _invalid("Not paid", code="charge_not_captured")
        remaining = intent["amount_received"] - intent["_refunded"]
        amount = int(p.get("amount", remaining))
        if remaining == 0:
            return _invalid("Already refunded", code="charge_already_refunded")
        if amount <= 0 or amount > remaining:
            return _invalid("Amount too large", code="amount_too_large", param="amount")
        if (error := amount_error(amount, intent["currency"])) is not None:
            return _invalid(error, code="amount_invalid", param="amount")
        intent["_refunded"] += amount
        rid = new_id("re")
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
    def public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}
