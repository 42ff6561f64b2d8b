"""Attendees: who holds each ticket of an event (the organiser's list and CSV export), and a buyer's correction of
an attendee's name before the event, which re-issues the order's PDF."""
