"""The round trip: a paid order's PDF rendered to an image, its QR codes decoded by an independent decoder (zbar),
each decoded text admitted online and verified offline with the signed gate bundle; one changed character refused;
a refunded ticket revoked online and offline; another event's ticket wrong_event."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from boxoffice.refunds.workflow import RefundWorkflow
from tests.checkout_helpers import checkout, hold, press, wait_order
from tests.gate.helpers import bundle, buy, scan, tickets_of
from tests.gate.offline import gate_verify
from tests.harness import Tokens
from tests.helpers import make_event, make_ticket_type


def qr_texts(pdf: bytes, workdir: Path) -> list[str]:
    """Every QR code on every page of ``pdf``, as zbar reads it from the page rendered at 150 dpi by poppler."""
    (workdir / "tickets.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "tickets.pdf", "page"], cwd=workdir, check=True, timeout=60)
    texts: list[str] = []
    for page in sorted(workdir.glob("page*.png")):
        done = subprocess.run(
            ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(page)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, (page, done.stderr)
        texts += [line for line in done.stdout.split("\n") if line]
    return texts


def changed(payload: str, at: int) -> str:
    """``payload`` with the character at ``at`` replaced by another one of the base45 set."""
    return payload[:at] + ("Q" if payload[at] != "Q" else "R") + payload[at + 1 :]


async def test_pdf_to_gate_and_back(
    api: httpx.AsyncClient, tokens: Tokens, temporal: Client, worker: Any, tmp_path: Path
) -> None:
    admin, gate = tokens.admin(), tokens.scanner()
    event = await make_event(api, admin)
    tt = await make_ticket_type(api, admin, event["id"], capacity=10, base_price_cents=5000)
    held = await hold(api, tokens, tt["id"], 3)
    created = (await checkout(api, tokens, [held])).json()
    await press(api, created["payment_url"], "pay")
    order = await wait_order(api, admin, created["order_id"], lambda o: o["status"] == "fulfilled")
    assert order["status"] == "fulfilled", order
    tickets = {t["qr_payload"]: t for t in await tickets_of(api, admin, order)}

    pdf = await api.get(f"/v1/orders/{order['id']}/tickets.pdf", headers=tokens.buyer())
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    decoded = qr_texts(pdf.content, tmp_path)
    assert sorted(decoded) == sorted(tickets)  # zbar read exactly the signed payloads, one per page
    first, refunded, _ = decoded
    keys = (await api.get("/.well-known/boxoffice/keys.json")).json()
    now = datetime.now(UTC)

    admitted = await scan(api, gate, event["id"], payload=first)
    assert (admitted["result"], admitted["ticket_id"]) == ("admitted", tickets[first]["id"])
    status, out, err = gate_verify(tmp_path, await bundle(api, gate, event["id"]), first, keys=keys, now=now)
    assert (status, out) == (0, f"valid {tickets[first]['id']}\n"), err
    assert "pinned key: trusted" in err

    # One changed character, anywhere that matters: refused online and offline.
    for at in (10, 60, 140):
        forged = changed(first, at)
        online = await scan(api, gate, event["id"], "other-gate", payload=forged)
        assert online["result"] in ("invalid", "wrong_event") and online["ticket_id"] is None, (at, online)
        status, out, _ = gate_verify(tmp_path, await bundle(api, gate, event["id"]), forged, keys=keys, now=now)
        assert status == 1 and out.startswith("invalid: "), (at, out)

    # A refunded ticket: revoked online and offline, its QR gone, and it cannot be voided any more.
    r = await api.post(
        f"/v1/orders/{order['id']}/refunds", json={"ticket_ids": [tickets[refunded]["id"]]}, headers=admin
    )
    assert r.status_code == 202, r.text
    await asyncio.wait_for(
        temporal.get_workflow_handle_for(RefundWorkflow.run, f"refund-{r.json()['refund_id']}").result(), 60
    )
    online = await scan(api, gate, event["id"], payload=refunded)
    assert (online["result"], online["reason"]) == ("revoked", "refunded")
    fresh = await bundle(api, gate, event["id"])
    assert tickets[refunded]["id"] in fresh["revoked_ticket_ids"]
    status, out, _ = gate_verify(tmp_path, fresh, refunded, keys=keys, now=now)
    assert (status, out) == (1, "invalid: revoked\n")
    qr = await api.get(f"/v1/tickets/{tickets[refunded]['id']}/qr.svg", headers=tokens.buyer())
    assert (qr.status_code, qr.json()["code"]) == (410, "ticket_revoked")
    void = await api.post(f"/v1/tickets/{tickets[refunded]['id']}/void", json={"reason": "x"}, headers=admin)
    assert (void.status_code, void.json()["code"]) == (409, "ticket_not_voidable")

    # Another event's ticket: wrong_event at this event's gates, online and offline.
    other = await buy(api, tokens)
    foreign = other.tickets[0]["qr_payload"]
    assert (await scan(api, gate, event["id"], payload=foreign))["result"] == "wrong_event"
    status, out, _ = gate_verify(tmp_path, fresh, foreign, keys=keys, now=now)
    assert (status, out) == (1, "invalid: wrong_event\n")
