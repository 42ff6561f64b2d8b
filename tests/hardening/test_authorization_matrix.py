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
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import httpx

from boxoffice.auth import Role
from tests.hardening.authz_world import PRINCIPALS, Principal, World, build_world
from tests.harness import Tokens


class Rule(Enum):
    PUBLIC, SIGNED, LIST, MEMBER, ADMIN_ANY, ADMIN, BUYER, OWNER, OWNER_OR_ADMIN, GATE = range(10)


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


R = Rule
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
    # Mutating operations, in the order they run (each allowed caller last within its row).
    ("PATCH", "/v1/tickets/{ticket_id}/attendee"): row(
        R.OWNER_OR_ADMIN, 200, request=at("/v1/tickets/{t1}/attendee", json={"name": "Renamed Guest"}), order=1
    ),
    ("POST", "/v1/scans"): row(R.GATE, 200, request=scan, order=2),
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
    ("PATCH", "/v1/ticket-types/{ticket_type_id}"): row(
        R.ADMIN, 200, request=at("/v1/ticket-types/{w.ticket_type}", json={"name": "GA renamed"}), order=12
    ),
    ("POST", "/v1/orders/{order_id}/refunds"): row(
        R.ADMIN, 202, 409, request=at("/v1/orders/{w.order}/refunds", json={}), order=13
    ),
}


def expected(rule: Rule, p: Principal, ok: frozenset[int]) -> frozenset[int]:
    """What ``p`` must get under ``rule``."""
    if rule is Rule.PUBLIC:
        return ok
    if rule is Rule.SIGNED or p.role is None:
        return frozenset({401})
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

    world = await build_world(api, tokens)
    failures: list[str] = []
    for (method, template), spec in sorted(MATRIX.items(), key=lambda item: item[1].order):
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
