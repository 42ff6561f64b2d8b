"""The refund flow's contract: one protocol for every refund, requested by an organiser or automatic.

``RefundWorkflow`` (``refund-{refund_id}``) sends a refund to the provider and follows it until the provider
confirms it. Two kinds of refund run through it:
- requested: an organiser's refund, recorded by the API before the run starts;
- automatic: money captured for an order that could not be fulfilled (a checkout that gave up, a late payment).
  The run is started as a child of the checkout or late-payment run with a ``CaptureRefund``; its first step
  confirms the capture, records it and the refund (once: the refund id derives from the order), or finds
  there is nothing to give back.

Dependency-free: standard library and ``temporalio`` only (``refund_capture`` is how another flow's workflow
starts an automatic refund as its child).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from temporalio import workflow
from temporalio.common import TypedSearchAttributes
from temporalio.exceptions import WorkflowAlreadyStartedError

REFUND_WORKFLOW = "RefundWorkflow"
QUERY_REFUND_STATUS = "refund_status"
_AUTO_REFUND_NAMESPACE = uuid.UUID("0d7a51f4-3a5e-4a8c-8d5e-6f1c2b7e9a31")


def refund_workflow_id(refund_id: str) -> str:
    return f"refund-{refund_id}"


def auto_refund_id(order_id: str) -> str:
    """The one automatic refund an order can have (money captured for an order we could not fulfil)."""
    return str(uuid.uuid5(_AUTO_REFUND_NAMESPACE, f"auto:{order_id}"))


@dataclass
class CaptureRefund:
    """Give back money captured for ``order_id``. ``amount`` and ``currency`` are what the provider confirmed;
    when absent (a late payment), the refund's first step asks the provider what was captured."""

    order_id: str
    reason: str
    amount: int | None = None
    currency: str | None = None


@dataclass
class RefundInput:
    refund_id: str
    poll_interval_seconds: int = 30
    sent: bool = False  # a continued run: the refund is already with the provider, go straight to waiting
    provider_failures: int = 0
    capture: CaptureRefund | None = None  # an automatic refund: record it first


@dataclass
class RefundOutcome:
    refund_id: str
    state: str  # pending, succeeded, failed
    provider_refund_id: str | None = None
    error: str | None = None


@dataclass
class RefundProgress:
    refund_id: str
    state: str  # sending, pending, failed, succeeded; not_needed when a capture turned out to owe nothing
    provider_refund_id: str | None = None
    provider_failures: int = 0
    last_error: str | None = None


async def refund_capture(
    capture: CaptureRefund,
    *,
    poll_interval_seconds: int,
    search_attributes: TypedSearchAttributes | None = None,
    summary: str | None = None,
) -> RefundProgress | None:
    """From inside another flow's workflow: give back what was captured for ``capture.order_id`` through the refund
    flow, as a child run that outlives its parent (parent-close policy *abandon*), and wait for its outcome. None when
    the order's automatic refund is already running elsewhere (it sees the refund through itself). ``summary`` is the
    child's static summary in the Temporal UI (ids and amounts only)."""
    refund_id = auto_refund_id(capture.order_id)
    try:
        return await workflow.execute_child_workflow(
            REFUND_WORKFLOW,
            RefundInput(refund_id=refund_id, poll_interval_seconds=poll_interval_seconds, capture=capture),
            id=refund_workflow_id(refund_id),
            result_type=RefundProgress,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            search_attributes=search_attributes,
            static_summary=summary or f"Automatic refund of order {capture.order_id} ({capture.reason})",
        )
    except WorkflowAlreadyStartedError:
        workflow.logger.info("the automatic refund is already running", extra={"refund_id": refund_id})
        return None
