"""The issuer the ticketing step uses: codes derived from a server secret, payloads signed with our key."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from cryptography.hazmat.primitives import serialization

from boxoffice.ticketing.codes import code_from_seed, format_code
from boxoffice.ticketing.keys import SigningKey
from boxoffice.ticketing.tokens import sign_ticket


class KeyedTicketIssuer:
    """Deterministic per ticket id: a retried issuing step produces the same code and payload."""

    def __init__(self, key: SigningKey):
        self.key = key
        raw = key.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        # A separate secret for codes, derived from the signing key so there is one secret to keep.
        self._code_secret = hashlib.sha256(b"boxoffice-ticket-codes:" + raw).digest()

    def code_for(self, ticket_id: uuid.UUID) -> str:
        return format_code(code_from_seed(ticket_id.bytes, secret=self._code_secret))

    def payload_for(self, ticket_id: uuid.UUID, event_id: uuid.UUID, valid_until: datetime, issued_at: datetime) -> str:
        return sign_ticket(self.key.private_key, self.key.kid, ticket_id, event_id, valid_until, issued_at)
