"""Why a message is sent, and the stable Message-ID that follows from it.

A *cause* is the business event a message reports: ``confirmation:{order_id}``, ``refund:{refund_id}``,
``cancellation:{order_id}``, ``void:{ticket_id}``. One cause gets one message. The sending activity records a
sent-marker keyed by the cause (its own table row, committed after ``Mailer.send`` returns) and skips causes it
has already marked, so a retried activity never sends twice. The Message-ID is derived from the cause alone, so
a retry in the window between a successful send and the marker's commit repeats the same Message-ID, which mail
clients and many servers recognise as the same message, and the outbox writes it at most once.
"""

from __future__ import annotations

import re

# A segment may hold letters, digits, '-' and '_': enough for UUIDs and ticket codes, and safe in a Message-ID's
# dot-atom and in a file name. Segments are joined by ':' in a cause and by '.' in a message id, which is
# one-to-one because neither character occurs inside a segment.
_SEGMENT = r"[A-Za-z0-9_-]+"
_CAUSE = re.compile(rf"^[a-z_]+(?::{_SEGMENT})+$")
MESSAGE_ID = re.compile(rf"^{_SEGMENT}(?:\.{_SEGMENT})*$")


def confirmation_cause(order_id: object) -> str:
    """The order's tickets were issued: sent once per order."""
    return cause("confirmation", order_id)


def refund_cause(refund_id: object) -> str:
    """One refund (full or partial) was paid out: sent once per refund, so two partial refunds send two."""
    return cause("refund", refund_id)


def cancellation_cause(order_id: object) -> str:
    """The order was cancelled (by the buyer, by timeout or because the organiser cancelled the event)."""
    return cause("cancellation", order_id)


def void_cause(ticket_id: object) -> str:
    """One ticket was voided: sent once per ticket."""
    return cause("void", ticket_id)


def cause(kind: str, *keys: object) -> str:
    """``kind:key[:key…]``; raises ValueError unless every key is made of letters, digits, '-' and '_'."""
    text = ":".join([kind, *(str(k) for k in keys)])
    if not keys or not _CAUSE.match(text):
        raise ValueError(f"not a message cause: {text!r}")
    return text


def message_id_for(cause_key: str) -> str:
    """The Message-ID local part (and outbox file name) for a cause: ``confirmation:3f…`` → ``confirmation.3f…``.

    Deterministic and one-to-one; the Mailer sends it as ``<confirmation.3f…@sender-domain>``.
    """
    if not _CAUSE.match(cause_key):
        raise ValueError(f"not a message cause: {cause_key!r}")
    return cause_key.replace(":", ".")
