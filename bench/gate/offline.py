"""Offline verification beside bare Ed25519, in alternating rounds over the same payloads."""

from __future__ import annotations

import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from boxoffice.ticketing.bundle import OfflineGate, sign_bundle
from boxoffice.ticketing.keys import generate_signing_key, public_jwks
from boxoffice.ticketing.tokens import decode_payload, make_gate_bundle, sign_ticket, verify_with_bundle

ORG = "bench"


@dataclass(frozen=True)
class OfflineFigures:
    payloads: int
    revoked: int
    gate_rates: list[float]  # OfflineGate.verify per CPU second, one per round
    raw_rates: list[float]  # Ed25519PublicKey.verify per CPU second, one per round
    one_shot_rate: float  # verify_with_bundle (reads the bundle for each payload), for information

    @property
    def gate(self) -> float:
        return statistics.median(self.gate_rates)

    @property
    def raw(self) -> float:
        return statistics.median(self.raw_rates)


def measure_offline(payloads: int, revoked: int, rounds: int) -> OfflineFigures:
    """Sign ``payloads`` tickets of one event, bundle them with ``revoked`` revoked ids, and time both loops."""
    key = generate_signing_key()
    event_id, now = uuid.uuid4(), datetime.now(UTC)
    texts = [
        sign_ticket(
            key,
            ticket_id=uuid.uuid4(),
            event_id=event_id,
            organization_id=ORG,
            valid_until=now + timedelta(days=30),
            issued_at=now,
        )
        for _ in range(payloads)
    ]
    bundle = sign_bundle(
        make_gate_bundle(
            event_id=event_id,
            organization_id=ORG,
            jwks=public_jwks([key.public_key]),
            revoked_ticket_ids=[uuid.uuid4() for _ in range(revoked)],
            withdrawn_kids=[],
            generated_at=now,
        ),
        key,
    )
    gate = OfflineGate(bundle)
    # The ceiling verifies exactly the bytes the gate verifies: the signed message of each payload.
    public = key.public_key
    tail = event_id.bytes + ORG.encode()
    messages = [(d.signature, b"BX2:" + d.body + tail) for d in map(decode_payload, texts)]
    for text in texts[:50]:  # the ceiling and the gate agree before anything is timed
        assert gate.verify(text, now).valid

    # Rates per CPU second of this thread, in chunks that alternate: on a shared machine, wall time measures the
    # neighbours as much as the code, while both loops' CPU time is theirs alone.
    gate_rates, raw_rates = [], []
    chunk = 250
    for _ in range(rounds):
        gate_cpu = raw_cpu = 0.0
        for start in range(0, len(texts), chunk):
            t0 = time.thread_time()
            for text in texts[start : start + chunk]:
                gate.verify(text, now)
            t1 = time.thread_time()
            for signature, message in messages[start : start + chunk]:
                public.verify(signature, message)
            gate_cpu, raw_cpu = gate_cpu + t1 - t0, raw_cpu + time.thread_time() - t1
        gate_rates.append(len(texts) / gate_cpu)
        raw_rates.append(len(messages) / raw_cpu)

    sample = texts[: max(1, payloads // 10)]
    t0 = time.thread_time()
    for text in sample:
        verify_with_bundle(text, bundle, now)
    one_shot = len(sample) / (time.thread_time() - t0)
    return OfflineFigures(payloads, revoked, gate_rates, raw_rates, one_shot)
