"""Boxoffice: checkout, payment and ticket issuance on durable Temporal workflows."""

__version__ = "0.1.0"
