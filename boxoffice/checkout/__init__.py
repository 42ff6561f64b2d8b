"""Checkout: a buyer's held seats become a paid order with tickets, or everything is put back (``CheckoutWorkflow``)."""
