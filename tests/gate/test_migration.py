"""Migration 0004 on a database with tickets issued before it: each gets its signing key and validity end from its
stored payload (the event's end + 7 days and no key for a payload from before BX2), and its first gate."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from boxoffice.migrations import upgrade
from boxoffice.ticketing.keys import generate_signing_key
from boxoffice.ticketing.tokens import sign_ticket

ENDS = datetime(2026, 3, 14, 23, 0, tzinfo=UTC)


def _ts(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # how SQLAlchemy stores a UTC datetime on SQLite


def test_backfill_from_stored_payloads(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0003")
    key = generate_signing_key()
    event, tt, hold, order, line = (uuid.uuid4() for _ in range(5))
    signed_ticket, legacy_ticket = uuid.uuid4(), uuid.uuid4()
    valid_until = ENDS + timedelta(days=7)
    payload = sign_ticket(
        key, ticket_id=signed_ticket, event_id=event, organization_id="demo", valid_until=valid_until, issued_at=ENDS
    )
    now, h = _ts(ENDS - timedelta(days=30)), lambda u: u.hex
    with sqlite3.connect(tmp_path / "old.db") as c:
        c.execute("INSERT INTO organizations VALUES (?, ?, ?)", ("demo", "demo", now))
        c.execute(
            "INSERT INTO events (id, organization_id, name, starts_at, ends_at, timezone, currency, service_fee_bps,"
            " service_fee_fixed_cents, created_at) VALUES (?, 'demo', 'Old', ?, ?, 'UTC', 'ZAR', 0, 0, ?)",
            (h(event), _ts(ENDS - timedelta(hours=4)), _ts(ENDS), now),
        )
        c.execute(
            "INSERT INTO ticket_types (id, event_id, organization_id, name, capacity, held, sold, pricing_model,"
            " base_price_cents, created_at) VALUES (?, ?, 'demo', 'GA', 10, 0, 2, 'free', 0, ?)",
            (h(tt), h(event), now),
        )
        c.execute(
            "INSERT INTO holds (id, organization_id, event_id, ticket_type_id, user_id, quantity, status, expires_at,"
            " created_at) VALUES (?, 'demo', ?, ?, 'u', 2, 'converted', ?, ?)",
            (h(hold), h(event), h(tt), now, now),
        )
        c.execute(
            "INSERT INTO orders (id, organization_id, event_id, user_id, buyer_email, buyer_name, status,"
            " payment_status, fulfillment_status, currency, subtotal_cents, fee_cents, tip_cents, total_amount,"
            " provider, request_hash, attendees, expires_at, created_at, updated_at) VALUES (?, 'demo', ?, 'u',"
            " 'u@example.com', 'U', 'paid', 'not_required', 'issued', 'ZAR', 0, 0, 0, 0, 'sandbox', '0', '[]', ?, ?, ?)",
            (h(order), h(event), now, now, now),
        )
        c.execute(
            "INSERT INTO order_lines (id, order_id, hold_id, ticket_type_id, name, quantity, unit_price_cents,"
            " line_total_cents, position) VALUES (?, ?, ?, ?, 'GA', 2, 0, 0, 0)",
            (h(line), h(order), h(hold), h(tt)),
        )
        for i, (ticket, qr, scanned) in enumerate(
            [(signed_ticket, payload, _ts(ENDS - timedelta(hours=2))), (legacy_ticket, "BX1.OLDPAYLOAD", None)]
        ):
            c.execute(
                "INSERT INTO tickets (id, order_id, order_line_id, index_in_line, ticket_type_id, event_id,"
                " organization_id, user_id, ticket_code, qr_payload, status, price_cents, scanned_at, last_gate_id,"
                " scan_count, created_at) VALUES (?, ?, ?, ?, ?, ?, 'demo', 'u', ?, ?, ?, 0, ?, ?, ?, ?)",
                (
                    h(ticket),
                    h(order),
                    h(line),
                    i,
                    h(tt),
                    h(event),
                    f"CODE-{i}",
                    qr,
                    "scanned" if scanned else "active",
                    scanned,
                    "north" if scanned else None,
                    1 if scanned else 0,
                    now,
                ),
            )

    upgrade(url, "0004")
    with sqlite3.connect(tmp_path / "old.db") as c:
        rows = {
            uuid.UUID(r[0]): r[1:]
            for r in c.execute(
                "SELECT id, signing_kid, valid_until, first_gate_id, last_scanned_at, inside FROM tickets"
            )
        }
        policy = c.execute("SELECT checkin_policy FROM events").fetchone()
        assert c.execute("SELECT count(*) FROM scans").fetchone() == (0,)
    assert rows[signed_ticket] == (key.kid, _ts(valid_until), "north", _ts(ENDS - timedelta(hours=2)), 0)
    assert rows[legacy_ticket] == (None, _ts(ENDS + timedelta(days=7)), None, None, 0)
    assert policy == ("single_entry",)
