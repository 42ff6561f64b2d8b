"""The fulfilment flow's contract: an order's tickets delivered (PDF stored, e-mailed), once per order.

Dependency-free: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

FULFILLMENT_WORKFLOW = "FulfillmentWorkflow"


def fulfillment_workflow_id(order_id: str) -> str:
    return f"fulfillment-{order_id}"


@dataclass
class FulfillmentInput:
    order_id: str


@dataclass
class FulfillmentResult:
    order_id: str
    pdf_location: str | None
    emailed_to: str | None
