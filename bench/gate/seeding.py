"""Issued tickets straight into a throwaway database: one paid order of ``n`` tickets, each signed by the ring the
API is given, copied in with ``COPY`` (the checkout would take minutes to issue tens of thousands)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from bench.seeding import BENCH_ORG
from boxoffice.ticketing.issuer import KeyedTicketIssuer
from boxoffice.ticketing.keyring import KeyRing
from boxoffice.ticketing.tokens import validity_end


@dataclass(frozen=True)
class Tickets:
    """The seeded tickets' payloads (in a random order: no two connections start on neighbours)."""

    event_id: uuid.UUID
    payloads: list[str]


def seed_tickets(dsn: str, ring: KeyRing, event_id: uuid.UUID, ticket_type_id: uuid.UUID, n: int) -> Tickets:
    """``n`` active tickets of the ticket type in one paid order, as the checkout's issuing step leaves them."""
    issuer = KeyedTicketIssuer(ring)
    now = datetime.now(UTC)
    order_id, line_id, hold_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(dsn) as conn:
        ends_at = conn.execute("SELECT ends_at FROM events WHERE id = %s", (event_id,)).fetchone()
        assert ends_at is not None
        valid_until = validity_end(ends_at[0])
        conn.execute(
            "INSERT INTO holds (id, organization_id, event_id, ticket_type_id, user_id, quantity, status, expires_at,"
            " created_at, order_id) VALUES (%s, %s, %s, %s, 'bench', %s, 'converted', %s, %s, %s)",
            (hold_id, BENCH_ORG, event_id, ticket_type_id, n, now + timedelta(minutes=10), now, order_id),
        )
        conn.execute(
            "INSERT INTO orders (id, organization_id, event_id, user_id, buyer_email, buyer_name, status,"
            " payment_status, fulfillment_status, currency, subtotal_cents, fee_cents, tip_cents, total_amount,"
            " provider, request_hash, attendees, expires_at, created_at, updated_at) VALUES (%s, %s, %s, 'bench',"
            " 'bench@example.com', 'Bench', 'paid', 'not_required', 'issued', 'ZAR', 0, 0, 0, 0, 'sandbox', '0',"
            " '[]', %s, %s, %s)",
            (order_id, BENCH_ORG, event_id, now, now, now),
        )
        conn.execute(
            "INSERT INTO order_lines (id, order_id, hold_id, ticket_type_id, name, quantity, unit_price_cents,"
            " line_total_cents, position) VALUES (%s, %s, %s, %s, 'Gate', %s, 0, 0, 0)",
            (line_id, order_id, hold_id, ticket_type_id, n),
        )
        payloads = []
        columns = (
            "id, order_id, order_line_id, index_in_line, ticket_type_id, event_id, organization_id, user_id,"
            " ticket_code, qr_payload, status, price_cents, scan_count, created_at, signing_kid, valid_until, inside"
        )
        kid = ring.signing_key.kid
        with conn.cursor().copy(f"COPY tickets ({columns}) FROM STDIN") as copy:
            for i in range(n):
                ticket_id = uuid.uuid4()
                payload = issuer.payload_for(ticket_id, event_id, BENCH_ORG, valid_until, now)
                payloads.append(payload)
                copy.write_row(
                    (
                        ticket_id,
                        order_id,
                        line_id,
                        i,
                        ticket_type_id,
                        event_id,
                        BENCH_ORG,
                        "bench",
                        issuer.code_for(ticket_id),
                        payload,
                        "active",
                        0,
                        0,
                        now,
                        kid,
                        valid_until,
                        False,
                    )
                )
        conn.execute("UPDATE ticket_types SET sold = sold + %s WHERE id = %s", (n, ticket_type_id))
        conn.execute("ANALYZE tickets")
    return Tickets(event_id, payloads)


def admitted_count(dsn: str, event_id: uuid.UUID) -> tuple[int, int]:
    """(tickets admitted, scan rows recorded) for the event: what the database says the load did."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM tickets WHERE event_id = %s AND status = 'scanned'),"
            " (SELECT count(*) FROM scans WHERE event_id = %s)",
            (event_id, event_id),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])
