"""Webhooks: provider events recorded once and delivered as hints (inbox, relay, late payments)."""
