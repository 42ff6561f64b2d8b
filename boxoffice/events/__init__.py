"""Events after their tickets are sold (issue 13): an edit followed to the tickets (new validity, PDFs re-issued,
buyers told: ``EventChangeWorkflow``) and a cancellation refunding every paid order (``EventCancellationWorkflow``).

Following a cancellation: ``routes.py`` (``POST /v1/events/{id}/cancel``: sales stop in the request) →
``client.py`` → ``workflow.py`` → ``activities.py`` → ``cancellation.py`` (the orders left to settle, one order
settled) → ``refunds`` (``refund_whole_order``, ``start_refund``), ``gate.voids`` (free tickets) and ``fulfilment``
(the cancellation message). An edit: ``routes.py`` (``PATCH /v1/events/{id}``, rules in ``catalogue.rules``) →
``workflow.py`` → ``changes.py`` (payloads re-signed) → ``fulfilment`` (the new PDF to each buyer).
"""
