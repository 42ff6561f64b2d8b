"""Where a checkout's time goes at low load: the buyer's stamps against the server's event times in each
workflow's history, and the activity times the bench worker logged."""

from __future__ import annotations

import contextlib
import json
import statistics
from collections.abc import Sequence
from pathlib import Path

from temporalio.api.enums.v1 import EventType

from bench.checkout.figures import Sample
from bench.processes import BENCH_PAYLOAD_KEYS
from boxoffice.temporal import connect, converter_for

BREAKDOWN_A = [
    ("API: auth, precheck queries, start RPC", "checkout_start", "started"),
    ("matching: first workflow task dispatched", "started", "wft1_started"),
    ("worker: open_order + initiate LAs, task done", "wft1_started", "wft1_completed"),
    ("update result back to the buyer", "wft1_completed", "checkout_end"),
]
BREAKDOWN_B = [
    ("sandbox decide + webhook record + signal RPC", "pay_start", "signaled"),
    ("matching: workflow task after the signal", "signaled", "wft2_started"),
    ("worker: verify + complete LAs (tickets)", "wft2_started", "tickets_at"),
    ("(Pay form POST answered, from its start)", "pay_start", "pay_end"),
]
ACTIVITY_ORDER = ["open_order", "initiate_payment", "verify_payment", "complete_order", "start_fulfillment"]


async def timelines(address: str, samples: Sequence[Sample]) -> list[dict[str, float]]:
    """For each sample: its buyer-side stamps plus the server's event times of its workflow."""
    client = await connect(address, "default", converter=converter_for(BENCH_PAYLOAD_KEYS))
    out = []
    for s in samples:
        t: dict[str, float] = {
            "checkout_start": s.checkout_start,
            "checkout_end": s.checkout_end,
            "pay_start": s.pay_start,
            "pay_end": s.pay_end,
            "tickets_at": s.tickets_at,
        }
        wfts_started: list[float] = []
        wfts_completed: list[float] = []
        async for ev in client.get_workflow_handle(s.workflow_id).fetch_history_events():
            at = ev.event_time.seconds + ev.event_time.nanos / 1e9
            if ev.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                t["started"] = at
            elif ev.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                wfts_started.append(at)
            elif ev.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                wfts_completed.append(at)
            elif ev.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED and "signaled" not in t:
                t["signaled"] = at
        if wfts_started and wfts_completed:
            t["wft1_started"], t["wft1_completed"] = wfts_started[0], wfts_completed[0]
        later = [w for w in wfts_started if w >= t.get("signaled", float("inf"))]
        if later:
            t["wft2_started"] = later[0]
        out.append(t)
    return out


def breakdown_rows(tls: list[dict[str, float]]) -> list[list[object]]:
    """Median milliseconds of each step of A and B over the timelines (with how many had the step)."""
    rows: list[list[object]] = []
    for title, steps in (("A: POST /v1/checkouts → payment_url", BREAKDOWN_A), ("B: Pay → tickets", BREAKDOWN_B)):
        rows.append([title, "", ""])
        for label, a, b in steps:
            d = [(t[b] - t[a]) * 1000 for t in tls if a in t and b in t]
            rows.append(["  " + label, statistics.median(d) if d else float("nan"), len(d)])
    return rows


def activity_rows(log: Path, samples: Sequence[Sample]) -> list[list[object]]:
    """Median duration of each activity over the sampled checkouts (from the bench worker's log)."""
    wanted = {s.workflow_id for s in samples}
    by_type: dict[str, list[float]] = {}
    with contextlib.suppress(OSError):
        for line in log.read_text().splitlines():
            rec = json.loads(line)
            if rec["wf"] in wanted:
                key = f"  {rec['type']}{' (local)' if rec['local'] else ''}"
                by_type.setdefault(key, []).append((rec["end"] - rec["start"]) * 1000)
    keys = sorted(by_type, key=lambda k: next((i for i, o in enumerate(ACTIVITY_ORDER) if o in k), 99))
    return [[k, statistics.median(by_type[k]), len(by_type[k])] for k in keys]
