"""Check-in policies: the event's, overridden per ticket type, and what a scan may do under each."""

from __future__ import annotations

from boxoffice.models.gate import CheckinPolicy


def effective_policy(event_policy: str, ticket_type_policy: str | None) -> CheckinPolicy:
    """The policy a ticket follows: its type's when set, else its event's."""
    return CheckinPolicy(ticket_type_policy or event_policy)


def allows_reentry(policy: str) -> bool:
    """Whether a ticket scanned out may be admitted again (``reentry``); a single-entry ticket gets in once."""
    return CheckinPolicy(policy) is CheckinPolicy.REENTRY
