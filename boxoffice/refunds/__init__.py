"""Refunds: one protocol for every refund, requested or automatic, until the provider confirms (``RefundWorkflow``)."""
