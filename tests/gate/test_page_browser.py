"""The scanner page in a real browser (Debian's Chromium, a fake camera filming real tickets' QR codes), against the
real app over HTTP: online, a paid ticket shown to the camera is admitted and another door is told it is already
in; a typed code works; offline, the page judges from its signed bundle, remembers what it let in, and uploads it
once the network is back. Screenshots of each state go to tests/artifacts/gate/."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.checkout_helpers import checkout, hold, press, wait_order
from tests.gate.helpers import scan, tickets_of
from tests.gate.page_helpers import Door, camera_video, chromium, http_server, phone
from tests.gate.test_roundtrip import changed
from tests.harness import Tokens
from tests.helpers import make_event, make_ticket_type


def bearer(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def paid_tickets(api: httpx.AsyncClient, tokens: Tokens, qty: int, **event: Any) -> tuple[dict, list[dict]]:
    """An event and ``qty`` tickets a buyer paid for through the sandbox's hosted page."""
    admin = tokens.admin()
    ev = await make_event(api, admin, **event)
    tt = await make_ticket_type(api, admin, ev["id"], capacity=10, base_price_cents=5000)
    created = (await checkout(api, tokens, [await hold(api, tokens, tt["id"], qty)])).json()
    await press(api, created["payment_url"], "pay")
    order = await wait_order(api, admin, created["order_id"], lambda o: o["status"] == "fulfilled")
    assert order["status"] == "fulfilled", order
    return ev, await tickets_of(api, admin, order)


async def ticket(api: httpx.AsyncClient, tokens: Tokens, ticket_id: str) -> dict[str, Any]:
    r = await api.get(f"/v1/tickets/{ticket_id}", headers=tokens.admin())
    assert r.status_code == 200, r.text
    return dict(r.json())


def clean(door: Door) -> None:
    """Nothing left this server, and the page broke no rule of its Content-Security-Policy."""
    assert door.foreign_requests() == []
    problems = [m for m in door.console if "Content Security Policy" in m or m.startswith("pageerror")]
    assert problems == [], problems


async def test_online_camera_and_typed_code(
    app: Any, api: httpx.AsyncClient, tokens: Tokens, worker: Any, tmp_path: Path
) -> None:
    event, (shown, typed) = await paid_tickets(api, tokens, 2)
    scanner = bearer(tokens.scanner())
    video = camera_video(tmp_path, [shown["qr_payload"]])
    async with http_server(app) as base, chromium(video) as browser:
        north = await Door.open(await phone(browser, base), base)
        await north.screenshot("01-first-visit")
        await north.set_up(scanner, "north-1", event["id"])
        await north.screenshot("02-ready")

        await north.page.click("#camera-toggle")
        card = await north.answer("admitted")
        assert card["kind"] == "go" and shown["id"][:8] in card["meta"], card
        assert (await ticket(api, tokens, shown["id"]))["status"] == "scanned"
        await north.screenshot("03-admitted")

        # The same ticket at another door: already admitted, with when and where.
        south = await Door.open(await phone(browser, base), base)
        await south.set_up(scanner, "south-1", event["id"])
        await south.page.click("#camera-toggle")
        card = await south.answer("already admitted")
        assert card["kind"] == "warn" and "at north-1" in card["detail"], card
        await south.screenshot("04-already-admitted")

        # A typed code, as people type it.
        await south.type_code(typed["ticket_code"].replace("-", " ").lower())
        card = await south.answer("admitted")
        assert typed["id"][:8] in card["meta"]
        after = await ticket(api, tokens, typed["id"])
        assert (after["status"], after["last_gate_id"]) == ("scanned", "south-1")
        await south.type_code("ABCD-EFGH-JKMN-PQRS")
        assert (await south.answer("invalid"))["kind"] == "stop"
        await south.screenshot("05-typed-invalid")
        assert await south.history() == ["Invalid", "Admitted", "Already admitted"]
        clean(north)
        clean(south)


HISTORY = "() => [...document.querySelectorAll('#history li')].map(li => li.textContent)"


async def test_offline_door_and_upload(
    app: Any, api: httpx.AsyncClient, tokens: Tokens, worker: Any, tmp_path: Path
) -> None:
    event, (valid, voided, elsewhere) = await paid_tickets(api, tokens, 3)
    r = await api.post(f"/v1/tickets/{voided['id']}/void", json={"reason": "lost"}, headers=tokens.admin())
    assert r.status_code == 200, r.text
    tampered = changed(valid["qr_payload"], 120)
    films = [valid["qr_payload"], voided["qr_payload"], tampered, elsewhere["qr_payload"]]
    video = camera_video(tmp_path, films)
    scanner = bearer(tokens.scanner())
    async with http_server(app) as base, chromium(video) as browser:
        context = await phone(browser, base)
        door = await Door.open(context, base)
        await door.set_up(scanner, "east-1", event["id"])  # online: keys.json, then the signed bundle
        # Another door admits a ticket after this device fetched its bundle: its bundle cannot know.
        other = await scan(api, tokens.scanner(), event["id"], "west-2", payload=elsewhere["qr_payload"])
        assert other["result"] == "admitted"

        await context.set_offline(True)
        await door.until("() => document.getElementById('status').dataset.state === 'offline'")
        await door.screenshot("06-offline-ready")
        await door.page.click("#camera-toggle")
        # Two rounds of the film: the valid ticket, admitted the first time, is already admitted the second.
        await door.until(f"() => ({HISTORY})().some(t => t.includes('Already admitted'))", None, 60)
        card = await door.card()
        assert card["status"].startswith("OFFLINE") and "to upload" in card["status"], card
        history = await door.page.evaluate(HISTORY)
        titles = await door.history()
        assert {"Admitted", "Revoked", "Invalid", "Already admitted"} <= set(titles), titles
        again = next(t for t in history if "Already admitted" in t)
        assert "at east-1" in again and "offline" in again, history
        await door.screenshot("07-offline-already-admitted")
        await door.page.click("#camera-toggle")  # camera off: what follows is typed

        # A typed code cannot be checked offline (the bundle holds no codes); nothing reached the API.
        await door.type_code(voided["ticket_code"])
        assert (await door.answer("cannot check"))["kind"] == "warn"
        await door.screenshot("08-offline-typed-code")
        assert (await ticket(api, tokens, valid["id"]))["status"] == "active"

        # A reload without network: the service worker's copy of the page, the bundle from IndexedDB.
        await door.page.reload()
        await door.page.wait_for_selector("body[data-ready='yes']")
        await door.until("() => document.getElementById('status').dataset.state === 'offline'")
        banner = await door.page.text_content("#offline-banner")
        assert banner and "gate bundle of" in banner, banner

        # Back online: the offline entries are uploaded with their own moments.
        back_online = datetime.now(UTC)
        await context.set_offline(False)
        await door.until("() => document.getElementById('status').textContent.startsWith('Online')", None, 30)
        await door.until("() => !document.getElementById('status').textContent.includes('to upload')", None, 30)
        after = await ticket(api, tokens, valid["id"])
        assert (after["status"], after["last_gate_id"], after["scan_count"]) == ("scanned", "east-1", 1), after
        assert (await ticket(api, tokens, voided["id"]))["status"] == "voided"
        disputes = await door.page.eval_on_selector_all("#dispute-list li", "items => items.map(i => i.textContent)")
        assert len(disputes) == 1 and "server: already admitted" in disputes[0] and "at west-2" in disputes[0], disputes
        await door.screenshot("09-back-online", full_page=True)
        clean(door)

    scans = await api.get(f"/v1/events/{event['id']}/scans?gate_id=east-1", headers=tokens.admin())
    rows = scans.json()
    assert {(s["result"], s["reason"]) for s in rows} == {("admitted", "offline"), ("already_admitted", "offline")}
    assert all(s["ticket_id"] in (valid["id"], elsewhere["id"]) for s in rows)
    assert all(datetime.fromisoformat(s["scanned_at"]) < back_online for s in rows)  # when the door let them in


async def test_entry_and_exit_when_the_event_allows_reentry(
    app: Any, api: httpx.AsyncClient, tokens: Tokens, worker: Any
) -> None:
    event, (t,) = await paid_tickets(api, tokens, 1, name="Weekend Festival", checkin_policy="reentry")
    async with http_server(app) as base, chromium() as browser:
        context = await phone(browser, base)
        door = await Door.open(context, base)
        await door.set_up(bearer(tokens.scanner()), "main-gate", event["id"])
        assert await door.page.is_visible("#direction")  # the switch shows for a re-entry event only

        async def through(direction: str, text: str, expected: str) -> dict[str, str]:
            await door.page.click(f"button[data-direction={direction}]")
            await door.type_code(text)
            return await door.answer(expected)

        await through("entry", t["ticket_code"], "admitted")
        assert (await through("exit", t["ticket_code"], "exited"))["kind"] == "out"
        await door.screenshot("10-exit")
        back = await through("entry", t["ticket_code"], "admitted")
        assert "entry no. 2" in back["detail"], back

        # Offline, with the payload typed in (a scanner that types what it reads): out, in again, not twice.
        await context.set_offline(True)
        await door.until("() => document.getElementById('status').dataset.state === 'offline'")
        assert "offline" in (await through("exit", t["qr_payload"], "exited"))["meta"]
        await through("entry", t["qr_payload"], "admitted")
        await through("entry", t["qr_payload"], "already admitted")
        await door.screenshot("11-offline-reentry")
        await context.set_offline(False)
        await door.until("() => document.getElementById('status').textContent.startsWith('Online')", None, 30)
        await door.until("() => !document.getElementById('status').textContent.includes('to upload')", None, 30)
        clean(door)

    after = await ticket(api, tokens, t["id"])
    assert (after["status"], after["scan_count"]) == ("scanned", 3), after
