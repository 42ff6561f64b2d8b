"""Names and message dataclasses shared by workflows, activities, the API and the worker.

Dependency-free on purpose: workflow code imports it inside the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass

CHECKOUT_TASK_QUEUE = "boxoffice-checkout"
DOCUMENTS_TASK_QUEUE = "boxoffice-documents"
HOLD_EXPIRY_SCHEDULE_ID = "hold-expiry-sweeper"


def checkout_workflow_id(order_id: str) -> str:
    return f"checkout-{order_id}"


def refund_workflow_id(refund_id: str) -> str:
    return f"refund-{refund_id}"


def fulfillment_workflow_id(order_id: str) -> str:
    return f"fulfillment-{order_id}"


@dataclass
class ExpireHoldsInput:
    limit: int = 1000


@dataclass
class ExpireHoldsResult:
    expired: int
