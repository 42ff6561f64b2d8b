"""Waiting lists (issue 13): buyers of a sold-out ticket type queue for seats that come back.

Following one list: ``routes.py`` (join, leave, the buyer's place, the organiser's line) → ``line.py`` (the rules of
joining and leaving) → ``client.py`` (signal-with-start) → ``workflow.py`` (one run per ticket type's list) →
``activities.py`` → ``offers.py`` (one step: offers settled and made, in line order). Seats coming back reach the
list through ``inventory.holds.move_seats`` (kept for it in the same statement), and its run hears of them through
``hints.py`` once the transaction commits. Tables and the seat rule: ``boxoffice.models.waitlist``.
"""
