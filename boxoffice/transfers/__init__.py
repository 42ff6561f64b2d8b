"""Ticket transfers (issue 13): a ticket given to another person, with a new code and signature, the old one revoked.

``routes.py`` (``POST /v1/tickets/{id}/transfer``) → ``rules.py`` (one transaction: the old ticket voided and
pointing at its replacement, the new ticket issued to the new attendee) → ``client.py`` (both parties' messages,
through the fulfilment flow's ``MessageWorkflow``). The gate needs nothing new: a transferred ticket is voided, so
it answers ``revoked`` online and is listed in the gate bundle. A transfer is a buyer's or organiser's act on an
order's ticket (a new attendee, a new ticket, messages), not a door's, so it has a home of its own, not ``gate/``.
"""
