"""Inventory: seat holds that never oversell, and their expiry (``HoldExpiryWorkflow``, on a Schedule)."""
