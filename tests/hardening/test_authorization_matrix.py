"""The authorization matrix: every operation of the OpenAPI document × role (buyer, org_admin, scanner, no token) ×
the owner's own user id or another × the owner's organisation or another. Each answer's status is asserted, and no
answer to a principal who may not see them carries the owner's or her organisation's data.

An operation with no row here fails the test (and so does a row for an operation that is gone): a new route is
not done until this table says who may call it. Rules (``Rule``):
- PUBLIC: anyone, token or not; SIGNED: the provider's signature decides, tokens are irrelevant (401 without one).
- LIST: any token; the answer holds only what the caller may see (checked by the secrets).
- MEMBER: any role of the organisation; another organisation's caller gets 404.
- ADMIN_ANY: an org_admin of any organisation (acting on their own); other roles 403.
- ADMIN: an org_admin of the organisation; other roles 403, another organisation's admin 404.
- BUYER: a buyer of the organisation; other roles 403, another organisation's buyer 404.
- OWNER: the buyer who owns it; other roles 403, any other buyer 404.
- OWNER_OR_ADMIN: the owner or an admin of her organisation; anyone else 404 (never 403: no hint it exists).
- GATE: a scanner or admin of the organisation; buyers 403, another organisation's 404.
- OPERATOR (issue 11): an operator, whatever the organisation; every other role 403. An operator gets 403 from every
  route that is not PUBLIC, SIGNED or OPERATOR.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import httpx

from boxoffice.auth import Role
from tests.hardening.authz_world import PRINCIPALS, Principal, World, build_world
from tests.harness import Tokens


class Rule(Enum):
    PUBLIC, SIGNED, LIST, MEMBER, ADMIN_ANY, ADMIN, BUYER, OWNER, OWNER_OR_ADMIN, GATE = range(10)
    OPERATOR = 10  # issue 11: the codec endpoint, an operator's only door (every other route answers operators 403)


Request = Callable[[World], tuple[str, dict[str, Any]]]  # → (path, httpx keyword arguments)


@dataclass(frozen=True)
class Row:
    rule: Rule
    ok: frozenset[int]  # what the allowed callers get (several when a repeat finds the work done)
    request: Request
    order: int = 0  # mutating operations run after the others, in this order (0: reads, first)


def row(rule: Rule, *ok: int, request: Request, order: int = 0) -> Row:
    return Row(rule, frozenset(ok), request, order)


def at(path: str, **kw: Any) -> Request:
    return lambda w: (path.format(w=w, t1=w.tickets[0]["id"], t2=w.tickets[1]["id"]), kw)


def scan(w: World) -> tuple[str, dict[str, Any]]:
    return "/v1/scans", {"json": {"payload": w.tickets[0]["qr_payload"], "gate_id": "g1", "event_id": w.event}}


OFFLINE_SCAN_ID = str(uuid.uuid4())


def upload(w: World) -> tuple[str, dict[str, Any]]:
    """An offline gate's upload: the same scan id every time (the first allowed caller records it, the others are
    answered from its record)."""
    item = {"id": OFFLINE_SCAN_ID, "payload": w.tickets[0]["qr_payload"], "scanned_at": datetime.now(UTC).isoformat()}
    return "/v1/scans/batch", {"json": {"event_id": w.event, "gate_id": "g1", "scans": [item]}}


R = Rule
NO_ENTRY = "4e0f6c1a-2b7d-4c39-9a85-0d6e3f1b2c47"  # issue 13: a waiting list entry nobody has
MATRIX: dict[tuple[str, str], Row] = {
    ("GET", "/healthz"): row(R.PUBLIC, 200, request=at("/healthz")),
    ("GET", "/readyz"): row(R.PUBLIC, 200, request=at("/readyz")),
    ("GET", "/metrics"): row(R.PUBLIC, 200, request=at("/metrics")),
    ("GET", "/.well-known/boxoffice/keys.json"): row(R.PUBLIC, 200, request=at("/.well-known/boxoffice/keys.json")),
    ("POST", "/v1/webhooks/{provider}"): row(R.SIGNED, 200, request=at("/v1/webhooks/sandbox", json={})),
    ("GET", "/v1/transactions"): row(R.ADMIN_ANY, 200, request=at("/v1/transactions")),
    ("GET", "/v1/ledger"): row(R.ADMIN, 200, request=at("/v1/ledger?event_id={w.event}")),
    ("GET", "/v1/reports/reconciliation"): row(
        R.ADMIN, 200, request=at("/v1/reports/reconciliation?event_id={w.event}")
    ),
    ("GET", "/v1/events"): row(R.LIST, 200, request=at("/v1/events")),
    ("GET", "/v1/events/{event_id}"): row(R.MEMBER, 200, request=at("/v1/events/{w.event}")),
    ("GET", "/v1/events/{event_id}/ticket-types"): row(R.MEMBER, 200, request=at("/v1/events/{w.event}/ticket-types")),
    ("GET", "/v1/events/{event_id}/availability"): row(R.MEMBER, 200, request=at("/v1/events/{w.event}/availability")),
    ("GET", "/v1/holds/{hold_id}"): row(R.OWNER, 200, request=at("/v1/holds/{w.hold}")),
    ("GET", "/v1/orders"): row(R.LIST, 200, request=at("/v1/orders")),
    ("GET", "/v1/orders/{order_id}"): row(R.OWNER_OR_ADMIN, 200, request=at("/v1/orders/{w.order}")),
    ("GET", "/v1/orders/{order_id}/events"): row(R.OWNER_OR_ADMIN, 200, request=at("/v1/orders/{w.order}/events")),
    ("GET", "/v1/orders/{order_id}/refunds"): row(R.ADMIN, 200, request=at("/v1/orders/{w.order}/refunds")),
    ("GET", "/v1/orders/{order_id}/tickets.pdf"): row(
        R.OWNER_OR_ADMIN, 200, request=at("/v1/orders/{w.order}/tickets.pdf")
    ),
    ("GET", "/v1/tickets"): row(R.LIST, 200, request=at("/v1/tickets")),
    ("GET", "/v1/tickets/{ticket_id}"): row(R.OWNER_OR_ADMIN, 200, request=at("/v1/tickets/{t1}")),
    ("GET", "/v1/tickets/{ticket_id}/qr.svg"): row(R.OWNER_OR_ADMIN, 200, request=at("/v1/tickets/{t1}/qr.svg")),
    ("GET", "/v1/events/{event_id}/attendees"): row(R.ADMIN, 200, request=at("/v1/events/{w.event}/attendees")),
    ("GET", "/v1/events/{event_id}/attendees.csv"): row(R.ADMIN, 200, request=at("/v1/events/{w.event}/attendees.csv")),
    ("GET", "/v1/events/{event_id}/scans"): row(R.ADMIN, 200, request=at("/v1/events/{w.event}/scans")),
    ("GET", "/v1/events/{event_id}/gate-bundle"): row(R.GATE, 200, request=at("/v1/events/{w.event}/gate-bundle")),
    # Issue 11: the Temporal codec endpoint (operators only) and an admin's payment re-check of a waiting checkout.
    ("POST", "/codec/decode"): row(R.OPERATOR, 200, request=at("/codec/decode", json={"payloads": []})),
    ("POST", "/codec/encode"): row(R.OPERATOR, 200, request=at("/codec/encode", json={"payloads": []})),
    ("GET", "/codec/session"): row(R.PUBLIC, 200, request=at("/codec/session")),
    ("POST", "/codec/session"): row(R.OPERATOR, 200, request=at("/codec/session")),
    ("DELETE", "/codec/session"): row(R.PUBLIC, 204, request=at("/codec/session", method="DELETE")),
    ("POST", "/v1/orders/{order_id}/payment-check"): row(
        R.ADMIN, 202, request=at("/v1/orders/{w.pending_order}/payment-check"), order=4
    ),
    # Mutating operations, in the order they run (each allowed caller last within its row).
    ("PATCH", "/v1/tickets/{ticket_id}/attendee"): row(
        R.OWNER_OR_ADMIN, 200, request=at("/v1/tickets/{t1}/attendee", json={"name": "Renamed Guest"}), order=1
    ),
    # Issue 13: a transfer (the same one again answers 200); waiting lists (the world's type is not sold out, and
    # alice waits in no line: her own entry ids are unknown, so 404 is what she gets too).
    ("POST", "/v1/tickets/{ticket_id}/transfer"): row(
        R.OWNER_OR_ADMIN,
        200,
        201,
        request=at("/v1/tickets/{t1}/transfer", json={"name": "New Holder", "email": "new.holder@example.com"}),
        order=1,
    ),
    ("POST", "/v1/ticket-types/{ticket_type_id}/waitlist"): row(
        R.BUYER, 409, request=at("/v1/ticket-types/{w.ticket_type}/waitlist", json={"quantity": 1}), order=1
    ),
    ("DELETE", "/v1/waitlist/{entry_id}"): row(R.OWNER, 404, request=at(f"/v1/waitlist/{NO_ENTRY}", method="DELETE")),
    ("GET", "/v1/waitlist"): row(R.LIST, 200, request=at("/v1/waitlist")),
    ("GET", "/v1/waitlist/{entry_id}"): row(R.OWNER, 404, request=at(f"/v1/waitlist/{NO_ENTRY}")),
    ("GET", "/v1/ticket-types/{ticket_type_id}/waitlist"): row(
        R.ADMIN, 200, request=at("/v1/ticket-types/{w.ticket_type}/waitlist")
    ),
    ("POST", "/v1/scans"): row(R.GATE, 200, request=scan, order=2),
    ("POST", "/v1/scans/batch"): row(R.GATE, 200, request=upload, order=2),
    ("POST", "/v1/orders/{order_id}/resend"): row(R.ADMIN, 202, request=at("/v1/orders/{w.order}/resend"), order=3),
    ("POST", "/v1/tickets/{ticket_id}/void"): row(
        R.ADMIN, 200, 409, request=at("/v1/tickets/{t2}/void", json={"reason": "matrix"}), order=4
    ),
    ("POST", "/v1/orders/{order_id}/cancel"): row(
        R.OWNER, 200, request=at("/v1/orders/{w.pending_order}/cancel"), order=5
    ),
    ("DELETE", "/v1/holds/{hold_id}"): row(R.OWNER, 200, request=at("/v1/holds/{w.hold}", method="DELETE"), order=6),
    ("POST", "/v1/checkouts"): row(
        R.OWNER,
        201,
        request=lambda w: (
            "/v1/checkouts",
            {"json": {"hold_ids": [w.checkout_hold], "provider": "sandbox", "buyer": {"email": "b@x.co", "name": "B"}}},
        ),
        order=7,
    ),
    ("POST", "/v1/holds"): row(
        R.BUYER,
        201,
        request=lambda w: ("/v1/holds", {"json": {"ticket_type_id": w.ticket_type, "quantity": 1}}),
        order=8,
    ),
    ("POST", "/v1/events"): row(
        R.ADMIN_ANY,
        201,
        request=at(
            "/v1/events",
            json={
                "name": "N",
                "starts_at": "2031-01-01T19:00:00Z",
                "ends_at": "2031-01-01T22:00:00Z",
                "currency": "ZAR",
            },
        ),
        order=9,
    ),
    ("POST", "/v1/events/{event_id}/ticket-types"): row(
        R.ADMIN,
        201,
        request=at(
            "/v1/events/{w.event}/ticket-types",
            json={"name": "VIP", "capacity": 5, "pricing_model": "fixed", "base_price_cents": 9000},
        ),
        order=10,
    ),
    ("PATCH", "/v1/events/{event_id}"): row(R.ADMIN, 200, request=at("/v1/events/{w.event}", json={}), order=11),
    # Issue 13: an event's cancellation and its progress; cancelling runs last of all (nothing of the event sells
    # after it), and a repeat answers the same cancellation.
    ("GET", "/v1/events/{event_id}/cancellation"): row(R.ADMIN, 200, request=at("/v1/events/{w.event}/cancellation")),
    ("POST", "/v1/events/{event_id}/cancel"): row(
        R.ADMIN, 202, request=at("/v1/events/{w.event}/cancel", json={}), order=99
    ),
    ("PATCH", "/v1/ticket-types/{ticket_type_id}"): row(
        R.ADMIN, 200, request=at("/v1/ticket-types/{w.ticket_type}", json={"name": "GA renamed"}), order=12
    ),
    ("POST", "/v1/orders/{order_id}/refunds"): row(
        R.ADMIN, 202, 409, request=at("/v1/orders/{w.order}/refunds", json={}), order=13
    ),
    # Vouchers (issue 13): the organisation's admins only; buyers redeem a code through POST /v1/holds.
    ("GET", "/v1/events/{event_id}/vouchers"): row(R.ADMIN, 200, request=at("/v1/events/{w.event}/vouchers")),
    ("GET", "/v1/vouchers/{voucher_id}"): row(R.ADMIN, 200, request=at("/v1/vouchers/{w.voucher}")),
    ("POST", "/v1/events/{event_id}/vouchers"): row(
        R.ADMIN, 201, request=at("/v1/events/{w.event}/vouchers", json={"kind": "free"}), order=14
    ),
    ("POST", "/v1/events/{event_id}/vouchers/bulk"): row(
        R.ADMIN, 201, request=at("/v1/events/{w.event}/vouchers/bulk", json={"kind": "free", "count": 2}), order=14
    ),
    ("PATCH", "/v1/vouchers/{voucher_id}"): row(
        R.ADMIN, 200, request=at("/v1/vouchers/{w.voucher}", json={"tag": "matrix"}), order=14
    ),
    ("POST", "/v1/vouchers/{voucher_id}/deactivate"): row(
        R.ADMIN, 200, request=at("/v1/vouchers/{w.voucher}/deactivate"), order=15
    ),
}


# Routes a browser loads that stay outside the OpenAPI document (include_in_schema=False), so app.openapi() does not
# list them: listed here, run like the rows above, and required to stay outside the document.
PAGES: dict[tuple[str, str], Row] = {
    ("GET", "/gate"): row(R.PUBLIC, 200, request=at("/gate")),
    ("GET", "/gate/sw.js"): row(R.PUBLIC, 200, request=at("/gate/sw.js")),
    ("GET", "/gate/static/{name}"): row(R.PUBLIC, 200, request=at("/gate/static/js/main.js")),
}


def expected(rule: Rule, p: Principal, ok: frozenset[int]) -> frozenset[int]:
    """What ``p`` must get under ``rule``."""
    if rule is Rule.PUBLIC:
        return ok
    if rule is Rule.SIGNED or p.role is None:
        return frozenset({401})
    if rule is Rule.OPERATOR or p.role is Role.OPERATOR:
        return ok if rule is Rule.OPERATOR and p.role is Role.OPERATOR else frozenset({403})
    deny = {
        Rule.LIST: None,
        Rule.MEMBER: 404 if not p.own_org else None,
        Rule.ADMIN_ANY: 403 if p.role is not Role.ORG_ADMIN else None,
        Rule.ADMIN: 403 if p.role is not Role.ORG_ADMIN else (404 if not p.own_org else None),
        Rule.BUYER: 403 if p.role is not Role.BUYER else (404 if not p.own_org else None),
        Rule.OWNER: 403 if p.role is not Role.BUYER else (404 if not p.is_owner else None),
        Rule.OWNER_OR_ADMIN: None if p.is_owner or (p.role is Role.ORG_ADMIN and p.own_org) else 404,
        Rule.GATE: 403 if p.role is Role.BUYER else (404 if not p.own_org else None),
    }[rule]
    return ok if deny is None else frozenset({deny})


def must_not_see(rule: Rule, p: Principal, world: World) -> set[str]:
    """The secrets ``p``'s answer must not hold."""
    if (p.role is Role.ORG_ADMIN and p.own_org) or p.is_owner:
        return set()
    if not p.own_org:
        return world.org_secrets() | world.owner_secrets()
    if rule is Rule.GATE and p.role is Role.SCANNER:
        return set()  # the gate sees the tickets it scans: that is its job
    return world.owner_secrets()


async def call(api: httpx.AsyncClient, tokens: Tokens, p: Principal, method: str, path: str, kw: dict[str, Any]):
    kw = dict(kw)
    method = kw.pop("method", method)
    return await api.request(method, path, headers=p.headers(tokens), **kw)


async def test_every_operation_by_every_principal(
    api: httpx.AsyncClient, app: Any, tokens: Tokens, worker: Any
) -> None:
    operations = {
        (method.upper(), path)
        for path, ops in app.openapi()["paths"].items()
        for method in ops
        if method != "parameters"
    }
    assert not (missing := sorted(operations - MATRIX.keys())), f"operations with no row in the matrix: {missing}"
    assert not (stale := sorted(MATRIX.keys() - operations)), f"rows for operations that are gone: {stale}"
    assert not (listed := sorted(PAGES.keys() & operations)), f"pages in the OpenAPI document: {listed}"

    world = await build_world(api, tokens)
    failures: list[str] = []
    for (method, template), spec in sorted({**PAGES, **MATRIX}.items(), key=lambda item: item[1].order):
        path, kw = spec.request(world)
        sent = path + json.dumps(kw, default=str)
        allowed_last = sorted(PRINCIPALS, key=lambda p: expected(spec.rule, p, spec.ok) == spec.ok)
        for p in allowed_last:
            r = await call(api, tokens, p, method, path, kw)
            want = expected(spec.rule, p, spec.ok)
            if r.status_code not in want:
                failures.append(
                    f"{method} {template} as {p.label}: {r.status_code}, expected {sorted(want)}: {r.text[:160]}"
                )
            leaked = sorted(s for s in must_not_see(spec.rule, p, world) if s and s not in sent and s in r.text)
            if leaked:
                failures.append(f"{method} {template} as {p.label}: the answer holds {leaked}")
    assert not failures, "\n".join(failures)
