"""Who the simulated buyers are: each one's provider, what they mean to do, how its webhooks fare, how many seats
of which kind, and when they arrive. Drawn once from a seed, so two runs face the same crowd."""

from __future__ import annotations

import random
from dataclasses import dataclass

#: Share of buyers per provider: the built-in sandbox (played by the API) and the three providers' local fakes.
PROVIDERS = {"sandbox": 0.4, "paystack": 0.2, "yoco": 0.2, "stripe": 0.2}
#: What a buyer who gets seats does with the checkout.
INTENTS = {
    "pay": 0.70,  # pays within the payment window
    "decline": 0.10,  # the card is declined
    "abandon": 0.08,  # never pays: the window closes
    "cancel": 0.05,  # cancels the checkout
    "late": 0.07,  # pays after the checkout gave up (refunded automatically)
}
#: What happens to the provider's webhooks for this buyer's payment.
WEBHOOKS = {"normal": 0.8, "lost": 0.1, "duplicated": 0.1}
#: Stripe closes its Checkout Session when a checkout gives up, so nothing can be paid late there.
LATE_CAPABLE = ("sandbox", "paystack", "yoco")


@dataclass(frozen=True)
class BuyerPlan:
    index: int
    provider: str
    intent: str
    webhook: str
    quantity: int
    ticket_type: int  # index into the event's ticket types
    arrives_after: float  # seconds after the sale opens
    late_after_grace: bool  # a late payer who pays after the checkout's grace period (not within it)


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def make_plans(buyers: int, *, seed: int, rush_seconds: float, front_share: float) -> list[BuyerPlan]:
    """``buyers`` plans, deterministic for ``seed``: arrivals spread over the first ``rush_seconds``, a
    ``front_share`` of them after the second (scarcer) ticket type."""
    rng = random.Random(seed)
    plans = []
    for i in range(buyers):
        provider = _pick(rng, PROVIDERS)
        intent = _pick(rng, INTENTS)
        if intent == "late" and provider not in LATE_CAPABLE:
            intent = "abandon"
        # A lost webhook for a late payment after the run closed is unrecoverable by design (nothing polls then),
        # so late payers' webhooks arrive: the bench tests recovery, not a documented limit.
        webhook = "normal" if intent == "late" else _pick(rng, WEBHOOKS)
        plans.append(
            BuyerPlan(
                index=i,
                provider=provider,
                intent=intent,
                webhook=webhook,
                quantity=2 if rng.random() < 0.3 else 1,
                ticket_type=1 if rng.random() < front_share else 0,
                arrives_after=rng.uniform(0, rush_seconds),
                late_after_grace=rng.random() < 0.5,
            )
        )
    return plans
