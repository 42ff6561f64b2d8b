"""A ticket is valid until its event's end + 7 days: scanned at end + 6 days it is admitted, at end + 8 days it is
expired, online (the gate's clock moved) and offline (``--now``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from tests.gate.helpers import Clock, bundle, buy, scan
from tests.gate.offline import gate_verify
from tests.harness import Tokens


async def test_valid_until_a_week_after_the_event(
    api: httpx.AsyncClient, app: FastAPI, tokens: Tokens, worker: Any, tmp_path: Path
) -> None:
    sale = await buy(api, tokens, qty=3)
    ev, gate = sale.event["id"], tokens.scanner()
    ends = datetime.fromisoformat(sale.event["ends_at"])
    late, too_late = ends + timedelta(days=6), ends + timedelta(days=8)
    early, expired, by_code = sale.tickets
    signed = await bundle(api, gate, ev)
    keys = (await api.get("/.well-known/boxoffice/keys.json")).json()

    clock = Clock()
    app.state.gate_clock = clock
    clock.at = late
    ok = await scan(api, gate, ev, payload=early["qr_payload"])
    assert (ok["result"], ok["first_scanned_at"]) == ("admitted", late.isoformat().replace("+00:00", "Z"))
    assert gate_verify(tmp_path, signed, early["qr_payload"], keys=keys, now=late)[0] == 0

    clock.at = too_late
    refused = await scan(api, gate, ev, payload=expired["qr_payload"])
    assert (refused["result"], refused["ticket_id"]) == ("expired", expired["id"])
    assert (await scan(api, gate, ev, ticket_code=by_code["ticket_code"]))["result"] == "expired"
    assert gate_verify(tmp_path, signed, expired["qr_payload"], keys=keys, now=too_late)[:2] == (
        1,
        "invalid: expired\n",
    )
    t = (await api.get(f"/v1/tickets/{expired['id']}", headers=tokens.admin())).json()
    assert (t["status"], t["scan_count"]) == ("active", 0)
