"""The providers' side of the sale: a buyer paying or declining on the sandbox's hosted page or at a provider's fake,
each webhook delivered, lost or duplicated as the buyer's plan says, and the providers' back offices settling every
refund they are asked for (which sends its own webhook)."""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.onsale.plan import BuyerPlan
from bench.onsale.stack import Fakes
from bench.onsale.traffic import Http
from tests.fakes import SignedWebhook

FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')
#: The sandbox page's webhook choice for each fate.
SANDBOX_WEBHOOK = {"normal": "normal", "lost": "drop", "duplicated": "duplicate"}


@dataclass
class ProviderSide:
    http: Http
    fakes: Fakes
    webhooks: Counter[str] = field(default_factory=Counter)  # "paystack lost", "stripe delivered", …
    refunds_settled: Counter[str] = field(default_factory=Counter)

    async def pay(self, plan: BuyerPlan, payment_url: str, provider_reference: str | None) -> float | None:
        """The buyer pays; returns when they pressed Pay (None if the provider's page would not take it)."""
        return await self._act(plan, payment_url, provider_reference, "pay")

    async def decline(self, plan: BuyerPlan, payment_url: str, provider_reference: str | None) -> float | None:
        """The buyer's card is declined."""
        return await self._act(plan, payment_url, provider_reference, "decline")

    async def _act(self, plan: BuyerPlan, payment_url: str, reference: str | None, action: str) -> float | None:
        if plan.provider == "sandbox":
            return await self._sandbox(plan, payment_url, action)
        fake = self.fakes.by_name()[plan.provider]
        assert reference is not None
        if plan.provider == "stripe" and fake.sessions[reference]["status"] == "expired":
            return None  # Stripe shows an expired session's page as expired: nothing can be paid (the fake would)
        at = time.time()
        sent = await (fake.complete_payment(reference) if action == "pay" else fake.decline_payment(reference))
        hooks = [] if sent is None else sent if isinstance(sent, list) else [sent]
        await self.deliver(fake, hooks, plan.webhook)
        return at

    async def _sandbox(self, plan: BuyerPlan, payment_url: str, action: str) -> float | None:
        """The hosted page, as a browser would: read it, then post its form (wherever its action points)."""
        page = await self.http.request("sandbox page", "GET", httpx.URL(payment_url).raw_path.decode())
        found = FORM_ACTION.search(page.text) if page is not None and page.status_code == 200 else None
        if found is None:
            return None
        at = time.time()
        form = {"action": action, "webhook": SANDBOX_WEBHOOK[plan.webhook]}
        r = await self.http.request(f"sandbox {action}", "POST", html.unescape(found.group(1)), data=form)
        self.webhooks[f"sandbox {plan.webhook}"] += 1
        return at if r is not None and r.status_code == 303 else None

    async def deliver(self, fake: Any, hooks: list[SignedWebhook], fate: str) -> None:
        """Take ``hooks`` out of the fake's outbox and post them: once, twice, or not at all."""
        with fake.lock:
            fake.outbox = [w for w in fake.outbox if not any(w is h for h in hooks)]
        copies = {"normal": 1, "duplicated": 2, "lost": 0}[fate]
        for hook in hooks:
            self.webhooks[f"{fake.name} {fate}"] += 1
            for _ in range(copies):
                await fake.redeliver(hook)

    async def back_offices(self, stop: asyncio.Event, every: float = 0.5) -> None:
        """Until ``stop``: each provider settles the refunds it was asked for (successfully) and says so by
        webhook; Yoco has no other way to tell."""
        while not stop.is_set():
            for name, fake in self.fakes.by_name().items():
                with fake.lock:
                    pending = [rid for rid, r in fake.refunds.items() if r["status"] == "pending"]
                for rid in pending:
                    sent = await fake.settle_refund(rid, succeed=True)
                    await self.deliver(fake, sent if isinstance(sent, list) else [sent], "normal")
                    self.refunds_settled[name] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    def captured(self, provider: str, reference: str, provider_reference: str | None) -> tuple[int, int]:
        """What a fake provider holds for one payment: (captured, refunded), from its own books."""
        fake = self.fakes.by_name()[provider]
        with fake.lock:
            if provider == "paystack":
                t = fake.transactions.get(reference)
                return (t["amount"], t["refunded"]) if t and t["status"] == "success" else (0, 0)
            if provider == "yoco":
                c = fake.checkouts.get(provider_reference or "")
                return (c["amount"], c["refunded"]) if c and c["status"] == "completed" else (0, 0)
            session = fake.sessions.get(provider_reference or "")
            intent = fake.intents.get(session["payment_intent"]) if session and session["payment_intent"] else None
            return (
                (intent["amount_received"], intent["_refunded"])
                if intent and intent["status"] == "succeeded"
                else (0, 0)
            )
