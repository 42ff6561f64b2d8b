"""The world the authorization matrix runs in: one organisation (``org1``) whose buyer ``alice`` owns a fulfilled
order with two tickets, a pending order, and two unclaimed holds; the principals that ask (every role, as alice's
own user id or another, in her organisation or another, and no token at all); and the strings that must never
reach a principal who may not see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from boxoffice.auth import Role
from tests.checkout_helpers import checkout, hold, press, wait_order
from tests.harness import Tokens
from tests.helpers import make_event, make_ticket_type

OWN_ORG, OTHER_ORG, OWNER, STRANGER = "org1", "org2", "alice", "mallory"
EVENT_NAME, VENUE, EMAIL = "Secret Gala 7f3a", "Vault 9 Annex", "alice.owner.51@example.com"
VOUCHER_CODE = "GALA-SECRET-7F3A"


@dataclass(frozen=True)
class Principal:
    role: Role | None  # None: no token
    user: str = OWNER
    org: str = OWN_ORG

    @property
    def label(self) -> str:
        return "no token" if self.role is None else f"{self.role.value}:{self.user}@{self.org}"

    @property
    def is_owner(self) -> bool:
        return (self.role, self.user, self.org) == (Role.BUYER, OWNER, OWN_ORG)

    @property
    def own_org(self) -> bool:
        return self.role is not None and self.org == OWN_ORG

    def headers(self, tokens: Tokens) -> dict[str, str]:
        return {} if self.role is None else tokens.make(self.user, self.org, self.role)


PRINCIPALS = [Principal(None)] + [
    Principal(role, user, org) for role in Role for user in (OWNER, STRANGER) for org in (OWN_ORG, OTHER_ORG)
]


@dataclass
class World:
    """Ids of what ``alice`` and her organisation own, and what must not leak."""

    event: str = ""
    ticket_type: str = ""
    order: str = ""
    pending_order: str = ""
    hold: str = ""
    checkout_hold: str = ""
    tickets: list[dict[str, Any]] = field(default_factory=list)
    voucher: str = ""  # issue 13

    def org_secrets(self) -> set[str]:
        """The organisation's own data: no other organisation sees it."""
        return {self.event, self.ticket_type, EVENT_NAME, VENUE, self.voucher, VOUCHER_CODE}

    def owner_secrets(self) -> set[str]:
        """The buyer's own data: only she and her organisation's admins see it."""
        found = {self.order, self.pending_order, self.hold, self.checkout_hold, EMAIL}
        for t in self.tickets:
            found |= {t["id"], t["ticket_code"], t["qr_payload"]}
        return found


async def build_world(api: httpx.AsyncClient, tokens: Tokens) -> World:
    """Alice's fulfilled order (paid through the sandbox), a pending one, and two unclaimed holds."""
    admin = tokens.admin(org=OWN_ORG)
    event = await make_event(api, admin, name=EVENT_NAME, venue=VENUE)
    tt = await make_ticket_type(api, admin, event["id"], capacity=60, base_price_cents=2500)
    world = World(event=event["id"], ticket_type=tt["id"])
    paid = await checkout(api, tokens, [await hold(api, tokens, tt["id"], 2)], buyer={"email": EMAIL, "name": "A"})
    assert paid.status_code == 201, paid.text
    world.order = paid.json()["order_id"]
    await press(api, paid.json()["payment_url"], "pay")
    order = await wait_order(api, tokens.buyer(), world.order, lambda o: o["status"] == "fulfilled")
    assert order["status"] == "fulfilled", order
    world.tickets = (await api.get("/v1/tickets", headers=tokens.buyer())).json()
    assert len(world.tickets) == 2
    pending = await checkout(api, tokens, [await hold(api, tokens, tt["id"], 1)], buyer={"email": EMAIL, "name": "A"})
    assert pending.status_code == 201, pending.text
    world.pending_order = pending.json()["order_id"]
    world.hold = await hold(api, tokens, tt["id"], 1)
    world.checkout_hold = await hold(api, tokens, tt["id"], 1)
    voucher = await api.post(
        f"/v1/events/{world.event}/vouchers", json={"kind": "free", "code": VOUCHER_CODE, "tag": "gala"}, headers=admin
    )
    assert voucher.status_code == 201, voucher.text
    world.voucher = voucher.json()["id"]
    return world
