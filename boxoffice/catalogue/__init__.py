"""Catalogue: events and ticket types, their validation and the sales window; the demo data."""
