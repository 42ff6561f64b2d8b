"""Editing an event (issue 13): what can change safely does, and follows to the tickets sold (new validity signed into
each payload, same ids and codes, the PDF re-rendered and sent to each buyer); what cannot is refused with its code
and changes nothing."""

from __future__ import annotations

import email
import email.policy
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from boxoffice.config import Settings
from boxoffice.events.contract import ChangeResult, change_workflow_id
from boxoffice.messaging import message_id_for
from boxoffice.ticketing.keyring import KeyRing
from boxoffice.ticketing.tokens import TicketVerificationError, VerifiedTicket, validity_end, verify_ticket
from tests.delivery.shop import attachment, pdf_qr_codes
from tests.events.helpers import buy_paid, result_of
from tests.harness import Tokens
from tests.helpers import iso, make_event, make_ticket_type


async def tickets(api: httpx.AsyncClient, tokens: Tokens, order: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for t in order["tickets"]:
        r = await api.get(f"/v1/tickets/{t['id']}", headers=tokens.admin())
        assert r.status_code == 200, r.text
        out[t["id"]] = r.json()
    return out


def outbox_message(settings: Settings, cause: str) -> EmailMessage:
    raw = (settings.outbox_dir / f"{message_id_for(cause)}.eml").read_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


async def test_moving_an_event_reissues_its_tickets_with_the_new_validity(
    api: httpx.AsyncClient, tokens: Tokens, temporal: Client, worker: Any, settings: Settings, tmp_path: Path
) -> None:
    admin = tokens.admin()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    event = await make_event(api, admin, starts_at=iso(start), ends_at=iso(start + timedelta(hours=3)))
    tt = await make_ticket_type(api, admin, event["id"], capacity=10, base_price_cents=5000)
    free = await make_ticket_type(api, admin, event["id"], capacity=10, pricing_model="free", base_price_cents=0)
    alice = await buy_paid(api, tokens, tt["id"], 2, user="alice")
    bob = await buy_paid(api, tokens, free["id"], 1, user="bob")
    before = {**await tickets(api, tokens, alice), **await tickets(api, tokens, bob)}

    later = start + timedelta(days=30)
    change = {"starts_at": iso(later), "ends_at": iso(later + timedelta(hours=4)), "venue": "The New Hall"}
    r = await api.patch(f"/v1/events/{event['id']}", json=change, headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["revision"], r.json()["venue"]) == (1, "The New Hall")
    done = await result_of(temporal, change_workflow_id(event["id"], 1), ChangeResult)
    assert (done.reissued, done.told) == (3, 2), done

    after = {**await tickets(api, tokens, alice), **await tickets(api, tokens, bob)}
    old_end, new_end = validity_end(start + timedelta(hours=3)), validity_end(later + timedelta(hours=4))
    assert set(after) == set(before)
    keys = KeyRing.load_or_create(settings.signing_key_file).verification_keys()  # type: ignore[arg-type]
    event_id = uuid.UUID(event["id"])

    def verify(payload: str, now: datetime) -> VerifiedTicket:
        return verify_ticket(payload, keys, now=now, event_id=event_id, organization_id="org1")

    past_old = old_end + timedelta(days=1)  # the old validity is over, the new one is not
    for tid, ticket in after.items():
        old = before[tid]
        assert ticket["ticket_code"] == old["ticket_code"] and ticket["qr_payload"] != old["qr_payload"]
        new = verify(ticket["qr_payload"], past_old)
        assert (str(new.ticket_id), new.valid_until) == (tid, new_end)
        # The old payload is still authentic, but only until its own validity: past it, it is refused.
        assert verify(old["qr_payload"], old_end).valid_until == old_end
        with pytest.raises(TicketVerificationError) as refused:
            verify(old["qr_payload"], past_old)
        assert refused.value.reason == "expired"

    # Each buyer got the tickets as they are now: the new venue, and a PDF whose QR codes are the new payloads.
    for order, user in ((alice, "alice"), (bob, "bob")):
        msg = outbox_message(settings, f"tickets_updated:{order['id']}-event-1")
        assert msg["To"].addresses[0].addr_spec == f"{user}@example.com"
        assert "Updated tickets" in msg["Subject"]
        assert "The New Hall" in msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        codes = {code for page in pdf_qr_codes(attachment(msg), tmp_path) for code in page}
        assert codes == {after[t["id"]]["qr_payload"] for t in order["tickets"]}

    # The same edit again changes nothing and tells nobody twice; a rename alone is a new edit.
    r = await api.patch(f"/v1/events/{event['id']}", json=change, headers=admin)
    assert r.status_code == 200 and r.json()["revision"] == 1, r.text
    r = await api.patch(f"/v1/events/{event['id']}", json={"name": "Renamed"}, headers=admin)
    assert r.status_code == 200 and r.json()["revision"] == 2, r.text
    renamed = await result_of(temporal, change_workflow_id(event["id"], 2), ChangeResult)
    assert (renamed.reissued, renamed.told) == (0, 2), renamed  # the validity did not move: nothing re-signed
    unchanged = {**await tickets(api, tokens, alice), **await tickets(api, tokens, bob)}
    assert {t: v["qr_payload"] for t, v in unchanged.items()} == {t: v["qr_payload"] for t, v in after.items()}


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"ends_at": "start-1h"}, 422, "event_ends_before_start"),
        ({"starts_at": "past-3d", "ends_at": "past-2d"}, 422, "event_end_in_past"),
        ({"ends_at": "start+1h"}, 422, "sales_window_after_event"),
        ({"timezone": "Mars/Olympus"}, 422, "invalid_timezone"),
        ({"starts_at": "2106", "ends_at": "2106+1d"}, 422, "event_too_far"),  # a payload's validity ends in 2106
        ({"refund_policy": {"cancel_until": "start", "cancel_hours_before_start": 24}}, 422, "validation_error"),
    ],
)
async def test_edits_that_cannot_be_made_safely_are_refused_and_change_nothing(
    api: httpx.AsyncClient, tokens: Tokens, change: dict[str, Any], status: int, code: str
) -> None:
    admin = tokens.admin()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    event = await make_event(api, admin, starts_at=iso(start), ends_at=iso(start + timedelta(hours=5)))
    sales_end = start + timedelta(hours=2)  # sales close two hours into the event
    await make_ticket_type(api, admin, event["id"], sales_end=iso(sales_end))
    now = datetime.now(UTC)
    moments = {
        "start-1h": start - timedelta(hours=1),
        "start+1h": start + timedelta(hours=1),
        "start": start,
        "past-3d": now - timedelta(days=3),
        "past-2d": now - timedelta(days=2),
        "2106": datetime(2106, 2, 1, tzinfo=UTC),
        "2106+1d": datetime(2106, 2, 2, tzinfo=UTC),
    }

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return iso(moments[value]) if isinstance(value, str) and value in moments else value

    r = await api.patch(f"/v1/events/{event['id']}", json=resolve(change), headers=admin)
    assert r.status_code == status and r.json()["code"] == code, r.text
    assert (await api.get(f"/v1/events/{event['id']}", headers=admin)).json() == event


async def test_an_event_that_has_ended_keeps_what_its_buyers_were_sold(api: httpx.AsyncClient, tokens: Tokens) -> None:
    admin = tokens.admin()
    now = datetime.now(UTC)
    over = await make_event(api, admin, starts_at=iso(now - timedelta(days=2)), ends_at=iso(now - timedelta(days=1)))
    r = await api.patch(f"/v1/events/{over['id']}", json={"venue": "Elsewhere"}, headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "event_ended", r.text
    # What does not reach the tickets may still change.
    r = await api.patch(f"/v1/events/{over['id']}", json={"checkin_policy": "reentry"}, headers=admin)
    assert r.status_code == 200 and r.json()["revision"] == 0, r.text
