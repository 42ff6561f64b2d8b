"""Property tests of the QR codec (BX2 payloads) and of ticket codes, over generated tickets, events,
organisations and times: signing and reading back agree; any one changed character is refused; the time, event
and organisation checks cut exactly where they should; no input makes the decoder fail any other way.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from boxoffice.ticketing.codes import ALPHABET, code_from_seed, format_code, is_valid_code, normalize_code
from boxoffice.ticketing.keys import SigningKey
from boxoffice.ticketing.qr import qr_version
from boxoffice.ticketing.tokens import (
    PAYLOAD_LENGTH,
    PREFIX,
    TicketVerificationError,
    decode_payload,
    sign_ticket,
    verify_ticket,
)
from tests.ticketing.samples import B45

TIMES = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2105, 12, 31), timezones=st.just(UTC)).map(
    lambda t: t.replace(microsecond=0)
)
ORGS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=64)


@dataclass(frozen=True)
class Fields:
    ticket_id: uuid.UUID
    event_id: uuid.UUID
    organization_id: str
    issued_at: datetime
    valid_until: datetime

    def sign(self, key: SigningKey) -> str:
        return sign_ticket(key, **dataclasses.asdict(self))


@st.composite
def tickets(draw: st.DrawFn) -> Fields:
    issued = draw(TIMES)
    valid_until = draw(TIMES.filter(lambda t: t >= issued))
    return Fields(draw(st.uuids()), draw(st.uuids()), draw(ORGS), issued, valid_until)


def verify(key: SigningKey, payload: str, fields: Fields, now: datetime) -> str:
    """``valid`` or the refusal's reason."""
    try:
        ticket = verify_ticket(
            payload,
            {key.kid: key.public_key},
            now=now,
            event_id=fields.event_id,
            organization_id=fields.organization_id,
        )
    except TicketVerificationError as exc:
        return exc.reason
    assert ticket.ticket_id == fields.ticket_id and ticket.valid_until == fields.valid_until
    return "valid"


@settings(max_examples=200, deadline=None)
@given(tickets())
def test_a_payload_reads_back_what_was_signed(key: SigningKey, fields: Fields) -> None:
    payload = fields.sign(key)
    assert len(payload) == PAYLOAD_LENGTH and payload.startswith(PREFIX)
    assert set(payload[len(PREFIX) :]) <= set(B45)  # QR alphanumeric mode only
    assert fields.sign(key) == payload  # deterministic: a retried issue gives the same payload
    found = decode_payload(payload)
    assert (found.kid, found.ticket_id) == (key.kid, fields.ticket_id)
    assert (found.issued_at, found.valid_until) == (fields.issued_at, fields.valid_until)
    valid_until = fields.valid_until
    for printed in (payload, payload.lower(), f"  {payload}\n"):  # as scanners and people hand it over
        assert verify(key, printed, fields, valid_until) == "valid"
    assert verify(key, payload, fields, valid_until + timedelta(seconds=1)) == "expired"


@settings(max_examples=300, deadline=None)
@given(tickets(), st.data())
def test_any_changed_character_is_refused(key: SigningKey, fields: Fields, data: st.DataObject) -> None:
    payload = fields.sign(key)
    i = data.draw(st.integers(min_value=0, max_value=len(payload) - 1))
    replacement = data.draw(st.sampled_from(B45).filter(lambda c: c != payload[i].upper()))
    changed = payload[:i] + replacement + payload[i + 1 :]
    reason = verify(key, changed, fields, fields.issued_at)
    assert reason in ("malformed", "wrong_event", "unknown_key", "bad_signature"), (i, reason)


@settings(max_examples=200, deadline=None)
@given(tickets(), st.uuids(), ORGS)
def test_another_event_or_organisation_is_refused(
    key: SigningKey, fields: Fields, other_event: uuid.UUID, other_org: str
) -> None:
    payload, now = fields.sign(key), fields.issued_at
    refused = ("wrong_event", "bad_signature")
    if other_event != fields.event_id:
        # Tags are 3 bytes: a colliding tag (one in 2**24) is still caught by the signature, over the full id.
        assert verify(key, payload, dataclasses.replace(fields, event_id=other_event), now) in refused
    if other_org != fields.organization_id:
        assert verify(key, payload, dataclasses.replace(fields, organization_id=other_org), now) in refused


DATA_LENGTH = PAYLOAD_LENGTH - len(PREFIX)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.text(alphabet=B45, min_size=DATA_LENGTH, max_size=DATA_LENGTH).map(lambda t: PREFIX + t),
        st.text(alphabet=B45, min_size=DATA_LENGTH - 2, max_size=DATA_LENGTH + 2).map(lambda t: PREFIX + t),
    )
)
def test_the_decoder_fails_only_as_malformed(text: str) -> None:
    """Whatever is scanned: either the fields of a well-formed payload or ``malformed``, never another error."""
    try:
        found = decode_payload(text)
    except TicketVerificationError as exc:
        assert exc.reason == "malformed"
        return
    assert len(text.strip()) == PAYLOAD_LENGTH and isinstance(found.ticket_id, uuid.UUID)


@settings(max_examples=25, deadline=None)
@given(tickets())
def test_every_payload_fits_the_same_qr_version(key: SigningKey, fields: Fields) -> None:
    assert qr_version(fields.sign(key)) == 6


# Ticket codes --------------------------------------------------------------------------------------------------


@settings(max_examples=300)
@given(st.binary(min_size=1, max_size=64), st.binary(min_size=16, max_size=32))
def test_codes_are_valid_and_survive_how_people_type_them(seed: bytes, secret: bytes) -> None:
    code = code_from_seed(seed, secret)
    assert len(code) == 16 and set(code) <= set(ALPHABET) and is_valid_code(code)
    assert code_from_seed(seed, secret) == code
    for typed in (format_code(code), format_code(code).lower(), " ".join(code), code.replace("", "-")):
        assert normalize_code(typed) == code and is_valid_code(typed)


@settings(max_examples=300)
@given(st.binary(min_size=1, max_size=64), st.integers(min_value=0, max_value=15), st.data())
def test_one_wrong_character_is_always_caught(seed: bytes, position: int, data: st.DataObject) -> None:
    code = code_from_seed(seed, b"k" * 32)
    other = data.draw(st.sampled_from(ALPHABET).filter(lambda c: c != code[position]))
    assert not is_valid_code(code[:position] + other + code[position + 1 :])
    j = data.draw(st.integers(min_value=0, max_value=15))
    swapped = list(code)
    swapped[position], swapped[j] = swapped[j], swapped[position]
    assert is_valid_code("".join(swapped)) == (code[position] == code[j])
