"""Fulfilment: a paid order's tickets as one PDF, stored and e-mailed (``FulfillmentWorkflow``); reading tickets."""
