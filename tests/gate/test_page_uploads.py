"""POST /v1/scans/batch, the scanner page's upload of what it let through offline: each scan judged and recorded as of
its own moment; idempotent by the device's ids, also when a repeat races the first (PostgreSQL and SQLite); the
server's verdict where it differs from the door's (a double entry, a revoked ticket); and whole batches refused,
with nothing changed, for a clock that cannot be right, an id given twice or already another gate's."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.models import Scan
from tests.gate.helpers import buy, scan
from tests.gate.stack import issue, replica
from tests.gate.test_concurrency import backend  # noqa: F401  (the fixture: PostgreSQL and SQLite)
from tests.harness import Tokens
from tests.helpers import make_event, make_ticket_type


def offline(payload: str | None = None, *, at: datetime, code: str | None = None, **extra: Any) -> dict[str, Any]:
    """One scan as the page keeps it: its own id, its moment, the payload (or a typed code)."""
    item: dict[str, Any] = {"id": str(uuid.uuid4()), "scanned_at": at.isoformat(), **extra}
    item.update({"payload": payload} if code is None else {"ticket_code": code})
    return item


async def upload(api: httpx.AsyncClient, headers: dict[str, str], event_id: str, gate: str, scans: list) -> Any:
    return await api.post(
        "/v1/scans/batch", json={"event_id": event_id, "gate_id": gate, "scans": scans}, headers=headers
    )


async def history(api: httpx.AsyncClient, tokens: Tokens, event_id: str) -> list[dict[str, Any]]:
    r = await api.get(f"/v1/events/{event_id}/scans?limit=500", headers=tokens.admin())
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_uploaded_at_their_moment_once(api: httpx.AsyncClient, tokens: Tokens, worker: Any) -> None:
    sale = await buy(api, tokens, qty=4)
    by_qr, by_code, double, voided = sale.tickets
    ev, gate = sale.event["id"], tokens.scanner()
    now = datetime.now(UTC)
    t1, t2, t3, t4 = (now - timedelta(minutes=m) for m in (40, 30, 20, 10))

    # While the door was offline: another gate admitted one ticket (online, later), and one was voided.
    first = await scan(api, gate, ev, "west-2", payload=double["qr_payload"])
    assert first["result"] == "admitted"
    r = await api.post(f"/v1/tickets/{voided['id']}/void", json={"reason": "lost"}, headers=tokens.admin())
    assert r.status_code == 200, r.text

    batch = [
        offline(by_qr["qr_payload"], at=t1),
        offline(at=t2, code=by_code["ticket_code"].lower()),
        offline(double["qr_payload"], at=t3),
        offline(voided["qr_payload"], at=t4),
        offline(by_qr["qr_payload"], at=t4, direction="exit"),
    ]
    r = await upload(api, gate, ev, "east-1", batch)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["id"] for x in results] == [b["id"] for b in batch]  # in the order sent
    assert [(x["result"], x["reason"], x["duplicate"]) for x in results] == [
        ("admitted", None, False),
        ("admitted", None, False),
        ("already_admitted", None, False),  # a double entry: west-2 admitted it first
        ("revoked", "voided", False),
        ("exited", None, False),
    ]
    assert results[2]["first_gate_id"] == "west-2"
    assert datetime.fromisoformat(results[0]["first_scanned_at"]) == t1  # the door's moment, not the upload's
    ticket = (await api.get(f"/v1/tickets/{by_qr['id']}", headers=tokens.admin())).json()
    assert (ticket["status"], ticket["scan_count"], ticket["last_gate_id"]) == ("scanned", 1, "east-1")

    recorded = {s["id"]: s for s in await history(api, tokens, ev) if s["gate_id"] == "east-1"}
    assert set(recorded) == {b["id"] for b in batch}  # recorded under the device's ids
    assert recorded[batch[0]["id"]]["reason"] == "offline" and recorded[batch[3]["id"]]["reason"] == "voided"
    assert datetime.fromisoformat(recorded[batch[1]["id"]]["scanned_at"]) == t2

    # The same upload again (the answer was lost): the same verdicts, nothing applied or recorded twice.
    again = await upload(api, gate, ev, "east-1", batch)
    assert again.status_code == 200, again.text
    assert [(x["result"], x["duplicate"]) for x in again.json()["results"]] == [(x["result"], True) for x in results]
    assert len(await history(api, tokens, ev)) == len(batch) + 1
    ticket = (await api.get(f"/v1/tickets/{by_qr['id']}", headers=tokens.admin())).json()
    assert ticket["scan_count"] == 1


async def test_batches_refused_whole(api: httpx.AsyncClient, tokens: Tokens, worker: Any) -> None:
    sale = await buy(api, tokens, qty=2)
    ev, gate, payload = sale.event["id"], tokens.scanner(), sale.tickets[0]["qr_payload"]
    now = datetime.now(UTC)
    good = offline(payload, at=now - timedelta(minutes=1))
    cases = [
        ([good, {**offline(payload, at=now), "id": good["id"]}], 422, "duplicate_scan_id"),
        ([good, offline(payload, at=now + timedelta(hours=1))], 422, "scan_time_out_of_range"),
        ([good, offline(payload, at=now - timedelta(days=40))], 422, "scan_time_out_of_range"),
        ([{**good, "scanned_at": "0001-01-01T00:00:00+14:00"}], 422, "scan_time_out_of_range"),
        ([{**good, "scanned_at": "2026-01-01T10:00:00"}], 422, "validation_error"),  # no offset: whose clock?
        ([{**good, "ticket_code": "ABCD-EFGH-JKMN-PQRS"}], 422, "validation_error"),  # both ways of naming one
    ]
    for scans, status, code in cases:
        r = await upload(api, gate, ev, "east-1", scans)
        assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert await history(api, tokens, ev) == []  # nothing changed

    elsewhere = await make_event(api, tokens.admin(org="org2"))
    r = await upload(api, gate, elsewhere["id"], "east-1", [good])
    assert (r.status_code, r.json()["code"]) == (404, "event_not_found")
    buyer = await upload(api, tokens.buyer(), ev, "east-1", [good])
    assert buyer.status_code == 403

    assert (await upload(api, gate, ev, "east-1", [good])).status_code == 200
    # The same id from another gate: not this device's scan; refused before anything else of the batch.
    other = offline(sale.tickets[1]["qr_payload"], at=now)
    r = await upload(api, gate, ev, "south-3", [other, good])
    assert (r.status_code, r.json()["code"]) == (409, "scan_id_conflict"), r.text
    assert len(await history(api, tokens, ev)) == 1
    assert (await api.get(f"/v1/tickets/{sale.tickets[1]['id']}", headers=tokens.admin())).json()["scan_count"] == 0


async def test_a_repeat_racing_the_first_applies_once(
    backend: tuple[Settings, Database],  # noqa: F811
    tokens: Tokens,
) -> None:
    settings, db = backend
    async with replica(settings, db) as (_, a), replica(settings, db) as (_, b):
        event = await make_event(a, tokens.admin())
        tt = await make_ticket_type(a, tokens.admin(), event["id"], pricing_model="free", base_price_cents=0)
        ids = await issue(db, settings, tt["id"], 5)
        payloads = [(await a.get(f"/v1/tickets/{t}", headers=tokens.admin())).json()["qr_payload"] for t in ids]
        at = datetime.now(UTC) - timedelta(minutes=3)
        batch = [offline(p, at=at + timedelta(seconds=i)) for i, p in enumerate(payloads)]
        # The device retried before its first upload answered: both reach the API, through two replicas.
        answers = await asyncio.gather(*(upload(c, tokens.scanner(), event["id"], "east-1", batch) for c in (a, b, a)))

    assert [r.status_code for r in answers] == [200, 200, 200], [r.text for r in answers]
    for i, item in enumerate(batch):
        verdicts = [r.json()["results"][i] for r in answers]
        assert {v["result"] for v in verdicts} == {"admitted"}, verdicts
        assert sum(not v["duplicate"] for v in verdicts) == 1, verdicts  # applied by exactly one upload
        assert all(v["id"] == item["id"] for v in verdicts)
    async with db.session() as s:
        assert (await s.execute(select(func.count()).select_from(Scan))).scalar() == len(batch)
    async with replica(settings, db) as (_, c):
        for t in ids:
            ticket = (await c.get(f"/v1/tickets/{t}", headers=tokens.admin())).json()
            assert (ticket["status"], ticket["scan_count"]) == ("scanned", 1)
