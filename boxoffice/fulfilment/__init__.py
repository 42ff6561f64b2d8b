"""Fulfilment: a paid order's tickets as one PDF, stored and e-mailed (``FulfillmentWorkflow``); every message to a
buyer, once per cause (``MessageWorkflow``: refunds, cancellations, voids, tickets re-sent or re-issued); reading,
downloading and re-sending tickets."""
