"""POST /v1/scans: admitted once, then already_admitted with when and where; typed codes; every refusal; every
attempt recorded and listed for the organiser."""

from __future__ import annotations

from typing import Any

import httpx

from tests.gate.helpers import buy, scan
from tests.harness import Tokens
from tests.helpers import make_event


async def test_admitted_once_then_already_admitted(api: httpx.AsyncClient, tokens: Tokens, worker: Any) -> None:
    sale = await buy(api, tokens, qty=2)
    first, second = sale.tickets
    gate = tokens.scanner()
    ev = sale.event["id"]

    ok = await scan(api, gate, ev, "north-1", payload=first["qr_payload"])
    assert ok["result"] == "admitted" and ok["ticket_id"] == first["id"] and ok["scan_count"] == 1
    assert ok["first_gate_id"] == ok["last_gate_id"] == "north-1" and ok["inside"] is True and not ok["replayed"]

    again = await scan(api, gate, ev, "south-2", payload=first["qr_payload"])
    assert again["result"] == "already_admitted" and again["scan_count"] == 1
    assert again["first_scanned_at"] == ok["first_scanned_at"] and again["first_gate_id"] == "north-1"

    # A typed code works as people type it: lower case, spaces, missing dashes; an org admin may scan too.
    typed = second["ticket_code"].replace("-", " ").lower()
    by_code = await scan(api, tokens.admin(), ev, "desk", ticket_code=typed)
    assert by_code["result"] == "admitted" and by_code["ticket_id"] == second["id"]

    t = (await api.get(f"/v1/tickets/{first['id']}", headers=tokens.admin())).json()
    assert (t["status"], t["scan_count"], t["last_gate_id"]) == ("scanned", 1, "north-1")


async def test_refusals(api: httpx.AsyncClient, tokens: Tokens, worker: Any) -> None:
    sale = await buy(api, tokens)
    other_event = await buy(api, tokens)  # same organisation, another event
    elsewhere = await buy(api, tokens, org="org2", user="zed")
    gate = tokens.scanner()
    ev = sale.event["id"]
    payload = sale.tickets[0]["qr_payload"]

    assert (await scan(api, gate, ev, payload=other_event.tickets[0]["qr_payload"]))["result"] == "wrong_event"
    code_elsewhere = await scan(api, gate, ev, ticket_code=other_event.tickets[0]["ticket_code"])
    assert code_elsewhere["result"] == "wrong_event"
    # Another organisation's ticket: its payload is for another event; its code does not exist here.
    assert (await scan(api, gate, ev, payload=elsewhere.tickets[0]["qr_payload"]))["result"] == "wrong_event"
    foreign = await scan(api, gate, ev, ticket_code=elsewhere.tickets[0]["ticket_code"])
    assert (foreign["result"], foreign["reason"], foreign["ticket_id"]) == ("invalid", "not_found", None)

    assert (await scan(api, gate, ev, payload="hello"))["reason"] == "malformed"
    i = 20  # change one character of the signature part: still base45, no longer authentic
    forged = payload[:i] + ("A" if payload[i] != "A" else "B") + payload[i + 1 :]
    bad = await scan(api, gate, ev, payload=forged)
    assert bad["result"] == "invalid" and bad["ticket_id"] is None
    assert (await scan(api, gate, ev, ticket_code="ABCD-EFGH-JKMN-PQRS"))["reason"] in ("malformed", "not_found")

    # Nothing above admitted anything.
    t = (await api.get(f"/v1/tickets/{sale.tickets[0]['id']}", headers=tokens.admin())).json()
    assert (t["status"], t["scan_count"]) == ("active", 0)


async def test_bad_requests_change_nothing(api: httpx.AsyncClient, tokens: Tokens, worker: Any) -> None:
    sale = await buy(api, tokens)
    ev, payload = sale.event["id"], sale.tickets[0]["qr_payload"]
    base = {"event_id": ev, "gate_id": "g"}
    cases: list[tuple[dict[str, str], dict[str, Any], int, str]] = [
        (tokens.buyer(), {**base, "payload": payload}, 403, "wrong_role"),
        (tokens.scanner(org="org2"), {**base, "payload": payload}, 404, "event_not_found"),
        (tokens.scanner(), {**base}, 422, "validation_error"),
        (tokens.scanner(), {**base, "payload": payload, "ticket_code": "X"}, 422, "validation_error"),
        (tokens.scanner(), {**base, "payload": payload, "direction": "sideways"}, 422, "validation_error"),
        (tokens.scanner(), {"event_id": ev, "gate_id": "  ", "payload": payload}, 422, "validation_error"),
    ]
    for headers, body, status, code in cases:
        r = await api.post("/v1/scans", json=body, headers=headers)
        assert (r.status_code, r.json()["code"]) == (status, code), (body, r.text)
    assert (await api.post("/v1/scans", json={**base, "payload": payload})).status_code == 401
    t = (await api.get(f"/v1/tickets/{sale.tickets[0]['id']}", headers=tokens.admin())).json()
    assert t["status"] == "active"
    listed = (await api.get(f"/v1/events/{ev}/scans", headers=tokens.admin())).json()
    assert listed == []  # refused requests are not scan attempts


async def test_every_attempt_is_listed_for_the_organiser(api: httpx.AsyncClient, tokens: Tokens, worker: Any) -> None:
    sale = await buy(api, tokens)
    ev, payload, ticket_id = sale.event["id"], sale.tickets[0]["qr_payload"], sale.tickets[0]["id"]
    gate = tokens.scanner(user="door-7")
    await scan(api, gate, ev, "A", payload=payload)
    await scan(api, gate, ev, "B", payload=payload)
    await scan(api, gate, ev, "B", payload="garbage")

    r = await api.get(f"/v1/events/{ev}/scans", headers=tokens.admin())
    assert r.status_code == 200
    rows = r.json()
    assert [(s["gate_id"], s["result"], s["ticket_id"]) for s in rows] == [
        ("B", "invalid", None),
        ("B", "already_admitted", ticket_id),
        ("A", "admitted", ticket_id),
    ]
    assert {s["scanner_id"] for s in rows} == {"door-7"} and {s["via"] for s in rows} == {"qr"}
    page = (await api.get(f"/v1/events/{ev}/scans?limit=1&offset=1", headers=tokens.admin())).json()
    assert [s["result"] for s in page] == ["already_admitted"]
    only_a = (await api.get(f"/v1/events/{ev}/scans?gate_id=A", headers=tokens.admin())).json()
    assert [s["result"] for s in only_a] == ["admitted"]
    admitted = (await api.get(f"/v1/events/{ev}/scans?result=admitted", headers=tokens.admin())).json()
    assert [s["gate_id"] for s in admitted] == ["A"]
    # The history is the organiser's: not the door staff's, not another organisation's.
    assert (await api.get(f"/v1/events/{ev}/scans", headers=tokens.scanner())).status_code == 403
    assert (await api.get(f"/v1/events/{ev}/scans", headers=tokens.admin(org="org2"))).status_code == 404


async def test_an_event_without_tickets_answers_invalid(api: httpx.AsyncClient, tokens: Tokens) -> None:
    event = await make_event(api, tokens.admin())
    answer = await scan(api, tokens.scanner(), event["id"], ticket_code="2222-2222-2222-2222")
    assert answer["result"] == "invalid" and answer["event_id"] == event["id"]
