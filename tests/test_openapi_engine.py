"""The machinery of the schemathesis run in ``test_openapi_fuzz.py`` (no tests here): the pools of seeded ids a
case is pointed at, the checks every response must pass, and the ``Fuzzer`` that generates, sends and judges.

Cases come from schemathesis's coverage phase (boundary values, nulls, missing members, undeclared methods) and
from Hypothesis-driven fuzzing in positive and negative mode. Requests go through an ``httpx`` client on the
test's event loop while generation runs on a worker thread, so the app, its database pool and its Temporal client
stay on the loop they were made on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import hypothesis
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    missing_required_header,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

REQUEST_SECONDS = 60
# Field rules enforced with their own codes and declared in the schema: schema-valid data must never meet them.
FIELD_RULES = {
    "POST /v1/events": {"invalid_fee"},
    "POST /v1/events/{event_id}/ticket-types": {
        "negative_price",
        "invalid_capacity",
        "invalid_max_per_order",
        "price_required",
        "free_with_price",
        "pwyw_fields_on_fixed",
    },
    "PATCH /v1/ticket-types/{ticket_type_id}": {"negative_price", "invalid_capacity", "invalid_max_per_order"},
}
PATH_POOLS = {
    "event_id": "events",
    "ticket_type_id": "ticket_types",
    "hold_id": "holds",
    "order_id": "orders",
    "ticket_id": "tickets",
    "provider": "providers",
    "voucher_id": "vouchers",  # issue 13
}
BODY_POOLS = {"ticket_type_id": "ticket_types", "hold_ids": "holds", "ticket_ids": "tickets"}
# Members a positive case sometimes takes from known-good values, past rules the schema cannot state.
BODY_VALUES: dict[str, list[Any]] = {
    "currency": ["ZAR", "usd"],
    "timezone": ["UTC", "Africa/Johannesburg"],
    "unit_prices_cents": [None],
    "attendees": [None],
}
# What a 2xx answer adds to the pools: operation -> (pool, member of the answer).
HARVEST = {
    "POST /v1/events": ("events", "id"),
    "POST /v1/events/{event_id}/ticket-types": ("ticket_types", "id"),
    "POST /v1/holds": ("holds", "id"),
    "POST /v1/checkouts": ("orders", "order_id"),
    "POST /v1/events/{event_id}/vouchers": ("vouchers", "id"),  # issue 13
}
# Run last, in this order, so that the other operations still find the seeded hold, orders and tickets as seeded
# (a refund needs live tickets: scanning or voiding them first would leave nothing to refund).
LAST = (
    "DELETE /v1/holds/{hold_id}",
    "POST /v1/orders/{order_id}/cancel",
    "POST /v1/orders/{order_id}/refunds",
    "POST /v1/scans",
    "POST /v1/tickets/{ticket_id}/void",
    "POST /v1/events/{event_id}/cancel",  # issue 13: nothing of a cancelled event sells or changes afterwards
)


@dataclass
class Pools:
    """Ids to point requests at, by kind. ``settled_orders`` are those whose event stream ends at once;
    ``spare_hold`` is an active hold no checkout takes, for ``DELETE /v1/holds/{hold_id}`` to release."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    settled_orders: list[str] = field(default_factory=list)
    spare_hold: str = ""

    def add(self, kind: str, value: str) -> None:
        known = self.ids.setdefault(kind, [])
        if value not in known:
            known.append(value)

    def for_path(self, label: str, name: str) -> list[str]:
        if label == "GET /v1/orders/{order_id}/events":
            return self.settled_orders
        if label == "DELETE /v1/holds/{hold_id}":
            return [*self.ids.get("holds", []), self.spare_hold]
        return self.ids.get(PATH_POOLS.get(name, ""), [])


def schema_states_validation(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> bool | None:
    """A schema-valid request is not refused by request validation (a 422 with ``errors``) nor by a field rule the
    schema declares; rules the schema cannot state (cross-field, stored state) may still refuse it."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    body = response.json()
    if "errors" in body or body.get("code") in FIELD_RULES.get(case.operation.label, ()):
        raise AssertionError(f"schema-valid data refused: {response.text[:600]}")
    return True


CHECKS: list[Callable[..., bool | None]] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    # These three judge the coverage phase's cases: undeclared methods (405 with Allow), missing Authorization.
    unsupported_method,
    allow_header_conformance,
    missing_required_header,
]


def operations(schema: schemathesis.BaseSchema) -> list[schemathesis.APIOperation]:
    """Every operation in the document, destructive ones (``LAST``) last; one schemathesis cannot read fails."""
    found = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise AssertionError(f"schemathesis cannot read an operation: {result.err()}")
        found.append(result.ok())
    return sorted(found, key=lambda op: LAST.index(op.label) + 1 if op.label in LAST else 0)


@dataclass
class Fuzzer:
    """One role's run: ``run_all`` is called on a worker thread, and its requests go to the app on ``loop``."""

    schema: schemathesis.BaseSchema
    api: httpx.AsyncClient
    loop: asyncio.AbstractEventLoop
    headers: dict[str, str]
    pools: Pools
    max_examples: dict[GenerationMode, int]
    coverage: bool
    requests: int = 0
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    succeeded: set[str] = field(default_factory=set)

    def send(self, case: schemathesis.Case) -> httpx.Response:
        kw = case.as_transport_kwargs(base_url=str(self.api.base_url).rstrip("/"), headers=self.headers)
        content = kw.get("data")
        request = self.api.request(
            kw["method"],
            kw["url"],
            params=kw.get("params"),
            headers=kw.get("headers"),
            cookies=kw.get("cookies") or None,
            json=kw.get("json"),
            content=content.encode() if isinstance(content, str) else content,
        )
        self.requests += 1
        return asyncio.run_coroutine_threadsafe(request, self.loop).result(REQUEST_SECONDS)

    def check(self, case: schemathesis.Case, response: httpx.Response) -> None:
        """Record each distinct failure once (no shrinking: every failure of the run is reported together)."""
        label = case.operation.label
        try:
            case.validate_response(response, checks=CHECKS, additional_checks=[schema_states_validation])
        except FailureGroup as group:
            for failure in group.exceptions:
                self.failures.setdefault((label, failure.title), f"{failure.message}\n{case.as_curl_command()}")
        except AssertionError as exc:
            self.failures.setdefault((label, "schema_states_validation"), f"{exc}\n{case.as_curl_command()}")
        if 200 <= response.status_code < 300:
            self.succeeded.add(label)
            if label in HARVEST:
                kind, member = HARVEST[label]
                self.pools.add(kind, response.json()[member])

    def substitute(self, data: st.DataObject, case: schemathesis.Case) -> None:
        """Point a positive case at seeded objects half of the time, so it reaches the success paths."""
        for name in list(case.path_parameters or {}):
            pool = self.pools.for_path(case.operation.label, name)
            if not pool:
                continue
            if data.draw(st.booleans(), label=f"seeded {name}"):
                case.path_parameters[name] = data.draw(st.sampled_from(pool))
        if not isinstance(case.body, dict):
            return
        for name, kind in BODY_POOLS.items():
            pool = self.pools.ids.get(kind, [])
            if name not in case.body or not pool or not data.draw(st.booleans(), label=f"seeded {name}"):
                continue
            ids: list[Any] = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True))
            case.body[name] = ids if name.endswith("_ids") else ids[0]
        for name, values in BODY_VALUES.items():
            if name in case.body and data.draw(st.booleans(), label=f"known-good {name}"):
                case.body[name] = data.draw(st.sampled_from(values))

    def cover(self, operation: schemathesis.APIOperation) -> None:
        """The coverage phase, each case sent once; a positive case's path parameters name seeded objects."""
        config = self.schema.config.generation_for(operation=operation, phase="coverage")
        modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
        cases = self.schema.iter_coverage_cases(operation, generation_modes=modes, generation_config=config)
        for turn, case in enumerate(cases):
            if case.meta is not None and case.meta.generation.mode.is_positive:
                for name in list(case.path_parameters or {}):
                    pool = self.pools.for_path(operation.label, name)
                    if pool:
                        case.path_parameters[name] = pool[turn % len(pool)]
            self.check(case, self.send(case))

    def fuzz(self, operation: schemathesis.APIOperation, mode: GenerationMode) -> None:
        strategy = operation.as_strategy(generation_mode=mode)

        @hypothesis.settings(
            max_examples=self.max_examples[mode],
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(data=st.data())
        def one(data: st.DataObject) -> None:
            case = data.draw(strategy, label="case")
            if mode is GenerationMode.POSITIVE:
                self.substitute(data, case)
            self.check(case, self.send(case))

        try:
            one()
        except Unsatisfiable:
            # Nothing in the request can be made invalid (no parameters, no body): there is no negative case.
            assert mode is GenerationMode.NEGATIVE and not operation.body and not list(operation.iter_parameters())

    def run_all(self) -> None:
        for operation in operations(self.schema):
            if self.coverage:
                self.cover(operation)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                self.fuzz(operation, mode)
