"""The crowd: every simulated buyer races for seats through the real API as a buyer's app would. A buyer holds
seats (sold out, they look again a few times while seats come back), checks out (retrying a failed request under
the same ``Idempotency-Key``, as an app must while the service restarts; a refused checkout, e.g. its hold
expired, sends them back to holding), then does what their plan says."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bench.onsale.plan import BuyerPlan
from bench.onsale.providers import ProviderSide
from bench.onsale.traffic import Http


@dataclass(frozen=True)
class CrowdSettings:
    ticket_types: list[str]
    sale_seconds: float  # buyers stop looking for seats this long after the sale opens
    hold_attempts: int  # a buyer tries to hold seats at most this many times
    late_grace_seconds: int  # the checkout's grace period (a late payer after it pays past it)
    seed: int


@dataclass
class Outcome:
    """What happened to one buyer, as the buyer saw it."""

    plan: BuyerPlan
    result: str = "sold_out"  # sold_out | checkout | refused: <status> <code> | bench error: …
    holds_tried: int = 0
    checkouts_tried: int = 0
    order_id: str | None = None
    acted_at: float | None = None  # when they pressed Pay (or Decline, or cancelled)


class Crowd:
    def __init__(self, http: Http, side: ProviderSide, tokens: list[str], settings: CrowdSettings) -> None:
        self.http, self.side, self.tokens, self.settings = http, side, tokens, settings
        self.opened = 0.0
        self.pages_not_ready = 0  # 201s to a repeated checkout that carried no payment page yet
        self.too_late = 0  # buyers who reached the payment step after their checkout's window had closed

    async def run(self, plans: list[BuyerPlan], opened: float) -> list[Outcome]:
        """Let every buyer loose on a sale that opened at ``opened``; returns once each has finished."""
        self.opened = opened
        return list(await asyncio.gather(*(self.buyer(p) for p in plans)))

    async def buyer(self, plan: BuyerPlan) -> Outcome:
        """One buyer, start to finish; a failure of the bench itself is recorded as the buyer's result."""
        out = Outcome(plan)
        try:
            return await self._buy(plan, out)
        except Exception as exc:
            out.result = f"bench error: {exc!r}"[:120]
            return out

    async def _buy(self, plan: BuyerPlan, out: Outcome) -> Outcome:
        rng = random.Random(self.settings.seed * 1_000_003 + plan.index)
        await asyncio.sleep(plan.arrives_after)
        auth = {"Authorization": f"Bearer {self.tokens[plan.index]}"}
        while True:
            hold_id = await self._hold(plan, auth, rng, out)
            if hold_id is None:
                return out
            checkout = await self._checkout(plan, hold_id, auth, out)
            if checkout is not None:
                break
            await asyncio.sleep(rng.uniform(1.0, 3.0))
        out.result, out.order_id = "checkout", checkout["order_id"]
        reference = await self._provider_reference(plan, checkout["order_id"], auth)
        if plan.provider != "sandbox" and reference is None:
            out.result = "refused: order unreadable"
            return out
        await asyncio.sleep(rng.uniform(0.5, 3.0))  # filling in the card form
        await self._act(plan, checkout, reference, auth, out)
        return out

    async def _hold(self, plan: BuyerPlan, auth: dict[str, str], rng: random.Random, out: Outcome) -> str | None:
        body = {"ticket_type_id": self.settings.ticket_types[plan.ticket_type], "quantity": plan.quantity}
        while True:
            out.holds_tried += 1
            r = await self.http.request("POST /v1/holds", "POST", "/v1/holds", json=body, headers=auth)
            if r is not None and r.status_code == 201:
                return str(r.json()["id"])
            if r is not None and r.status_code < 500 and r.status_code != 409:
                out.result = f"refused: {r.status_code} {r.json().get('code', '')}"
                return None
            out.result = "sold_out" if r is not None and r.status_code == 409 else out.result
            wait = rng.uniform(4.0, 12.0)
            closes = self.opened + self.settings.sale_seconds
            if out.holds_tried >= self.settings.hold_attempts or time.time() + wait > closes:
                return None
            await asyncio.sleep(wait)

    async def _checkout(
        self, plan: BuyerPlan, hold_id: str, auth: dict[str, str], out: Outcome
    ) -> dict[str, Any] | None:
        """POST /v1/checkouts until it answers with a payment page (None if refused)."""
        out.checkouts_tried += 1
        body = {
            "hold_ids": [hold_id],
            "provider": plan.provider,
            "buyer": {"email": f"buyer{plan.index}@example.com", "name": f"Buyer {plan.index}"},
        }
        headers = {**auth, "Idempotency-Key": f"onsale-{plan.index}-{out.checkouts_tried}"}
        for attempt in range(20):
            r = await self.http.request("POST /v1/checkouts", "POST", "/v1/checkouts", json=body, headers=headers)
            if r is not None and r.status_code == 201:
                checkout: dict[str, Any] = r.json()
                if checkout["status"] != "pending":  # a repeat found the checkout over: the app shows that
                    out.result = f"refused: 201 {checkout['status']}"
                    return None
                if checkout["payment_url"]:
                    return checkout
                # A repeat met the first run before its payment page was recorded: ask again shortly.
                self.pages_not_ready += 1
                await asyncio.sleep(1.0)
                continue
            if r is not None and r.status_code < 500:
                out.result = f"refused: {r.status_code} {r.json().get('code', '')}"
                return None
            await asyncio.sleep(min(8.0, 0.5 * 2**attempt))
        out.result = "refused: no answer"
        return None

    async def _provider_reference(self, plan: BuyerPlan, order_id: str, auth: dict[str, str]) -> str | None:
        """The provider's id of the payment (what its page is keyed by), read from the order as an app would."""
        if plan.provider == "sandbox":
            return None
        for _ in range(10):
            r = await self.http.request("GET /v1/orders/{id}", "GET", f"/v1/orders/{order_id}", headers=auth)
            if r is not None and r.status_code == 200 and r.json()["transaction"]:
                return str(r.json()["transaction"]["provider_reference"])
            await asyncio.sleep(1.0)
        return None

    async def _act(
        self, plan: BuyerPlan, checkout: dict[str, Any], reference: str | None, auth: dict[str, str], out: Outcome
    ) -> None:
        url, closes = checkout["payment_url"], datetime.fromisoformat(checkout["expires_at"]).timestamp()
        if plan.intent in ("pay", "decline", "cancel") and time.time() > closes:
            # The app counts down to expires_at: past it, the buyer is told the reservation ran out.
            self.too_late += 1
            return
        if plan.intent == "pay":
            out.acted_at = await self.side.pay(plan, url, reference)
        elif plan.intent == "decline":
            out.acted_at = await self.side.decline(plan, url, reference)
        elif plan.intent == "cancel":
            out.acted_at = time.time()
            path = f"/v1/orders/{checkout['order_id']}/cancel"
            await self.http.request("POST /v1/orders/{id}/cancel", "POST", path, headers=auth)
        elif plan.intent == "late":
            after = closes + (self.settings.late_grace_seconds + 4 if plan.late_after_grace else 3)
            await asyncio.sleep(max(0.0, after - time.time()))
            out.acted_at = await self.side.pay(plan, url, reference)
        # "abandon": nothing; the payment window closes on its own.
