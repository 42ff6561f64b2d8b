"""The issuer the ticketing step uses: codes derived from the ring's code secret, payloads signed by its active key."""

from __future__ import annotations

import uuid
from datetime import datetime

from boxoffice.ticketing.codes import code_from_seed, format_code
from boxoffice.ticketing.keyring import KeyRing
from boxoffice.ticketing.tokens import sign_ticket


class KeyedTicketIssuer:
    """Issues a ticket's code and signed payload from a :class:`KeyRing`.

    Codes depend only on the ticket id and the ring's code secret, which no rotation or withdrawal changes:
    a retried issuing step always derives the same code. Payloads are deterministic per signing key: a
    retry gives the same payload unless the ring rotated in between (then the retry's payload is signed by
    the new key, and both verify).
    """

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring

    def code_for(self, ticket_id: uuid.UUID) -> str:
        """The ticket's grouped code (``XXXX-XXXX-XXXX-XXXX``), unpredictable without the code secret."""
        return format_code(code_from_seed(ticket_id.bytes, secret=self.ring.code_secret))

    def payload_for(
        self,
        ticket_id: uuid.UUID,
        event_id: uuid.UUID,
        organization_id: str,
        valid_until: datetime,
        issued_at: datetime,
    ) -> str:
        """The ticket's QR payload, signed by the ring's active key as of now.

        The ring is refreshed first (one ``stat``), so a rotation done by ``boxoffice keys rotate`` takes
        effect without a restart, and this process never signs with a key that has since been retired.
        ``valid_until`` should be :func:`boxoffice.ticketing.tokens.validity_end` of the event's end.
        """
        self.ring.refresh()
        return sign_ticket(
            self.ring.signing_key,
            ticket_id=ticket_id,
            event_id=event_id,
            organization_id=organization_id,
            valid_until=valid_until,
            issued_at=issued_at,
        )
