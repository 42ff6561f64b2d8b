"""Property tests of the status machines (``models.states``) and of the flush guard that enforces them.

Random sequences of status changes, from any starting status: a change the machine declares goes through, any
other is refused with ``IllegalTransition`` and leaves the status as it was, so no sequence reaches a status by a
step the machine does not declare. The guard is tested on real rows (SQLite in memory) for every guarded column:
it refuses exactly the undeclared changes, whoever makes them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from boxoffice.errors import IllegalTransition
from boxoffice.models import GUARDED, Hold, Order, Refund, Ticket, Transaction, WaitlistEntry, metadata
from boxoffice.models.states import TRANSITIONS, can_transition, check_transition

MACHINES = sorted(TRANSITIONS, key=lambda m: m.__name__)
SOON = datetime(2030, 1, 1, tzinfo=UTC)


def reachable(machine: type[StrEnum], start: StrEnum) -> set[StrEnum]:
    """Every status reachable from ``start`` through declared steps."""
    seen, todo = {start}, [start]
    while todo:
        for nxt in TRANSITIONS[machine].get(todo.pop(), frozenset()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@st.composite
def walks(draw: st.DrawFn) -> tuple[type[StrEnum], StrEnum, list[StrEnum]]:
    machine = draw(st.sampled_from(MACHINES))
    statuses = st.sampled_from(list(machine))
    return machine, draw(statuses), draw(st.lists(statuses, max_size=30))


@settings(max_examples=500)
@given(walks())
def test_a_walk_only_takes_declared_steps(walk: tuple[type[StrEnum], StrEnum, list[StrEnum]]) -> None:
    machine, current, targets = walk
    start = current
    for target in targets:
        declared = target == current or target in TRANSITIONS[machine].get(current, frozenset())
        try:
            check_transition(machine, current.value, target.value)
        except IllegalTransition as exc:
            assert not declared and exc.code == "illegal_transition"
            assert (exc.extra["current"], exc.extra["new"]) == (current.value, target.value)
            continue
        assert declared and (target == current or can_transition(machine, current.value, target.value))
        current = target
    assert current in reachable(machine, start)


def test_terminal_statuses_have_no_way_out() -> None:
    for machine in MACHINES:
        for status in machine:
            if not TRANSITIONS[machine].get(status):
                assert reachable(machine, status) == {status}, (machine, status)


# The flush guard, on real rows ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    engine = create_engine("sqlite://")
    names = sorted({str(inspect(cls).local_table.name) for cls, _attr in GUARDED})
    metadata.create_all(engine, tables=[metadata.tables[name] for name in names])
    yield engine
    engine.dispose()


def _row(cls: type, attr: str, status: str) -> Any:
    """A minimal row of ``cls`` with ``attr`` set to ``status`` (foreign keys are not enforced here)."""
    some = uuid.uuid4()
    common: dict[str, Any] = {"organization_id": "org1"}
    values: dict[str, Any]
    if cls is Hold:
        values = {"event_id": some, "ticket_type_id": some, "user_id": "u", "quantity": 1, "expires_at": SOON}
    elif cls is Order:
        values = {"event_id": some, "user_id": "u", "buyer_email": "a@b.co", "buyer_name": "A", "currency": "ZAR"}
        values |= {"provider": "sandbox", "request_hash": "h", "expires_at": SOON + timedelta(minutes=1)}
    elif cls is Transaction:
        values = {"order_id": some, "provider": "sandbox", "amount": 1, "currency": "ZAR", "reference": str(some)}
    elif cls is Ticket:
        values = {"order_id": some, "order_line_id": some, "index_in_line": 0, "ticket_type_id": some}
        values |= {"event_id": some, "user_id": "u", "ticket_code": str(some)[:19], "qr_payload": "x", "price_cents": 1}
    elif cls is Refund:
        values = {"order_id": some, "transaction_id": some, "amount": 1, "currency": "ZAR"}
    elif cls is WaitlistEntry:
        values = {"event_id": some, "ticket_type_id": some, "user_id": "u", "quantity": 1, "position": 1}
    else:
        raise AssertionError(f"no sample row for {cls.__name__}: add one for the new guarded table")
    make: Any = cls
    return make(**common, **values, **{attr: status})


GUARDS: list[tuple[type, str, type[StrEnum]]] = [(cls, attr, machine) for (cls, attr), machine in GUARDED.items()]


@st.composite
def guarded_walks(draw: st.DrawFn) -> tuple[type, str, type[StrEnum], StrEnum, list[StrEnum]]:
    cls, attr, machine = draw(st.sampled_from(GUARDS))
    statuses = st.sampled_from(list(machine))
    return cls, attr, machine, draw(statuses), draw(st.lists(statuses, min_size=1, max_size=12))


def stored(engine: Engine, cls: type, key: uuid.UUID, attr: str) -> str:
    with Session(engine) as s:
        return str(getattr(s.get(cls, key), attr))


@settings(max_examples=150, deadline=None)
@given(walk=guarded_walks())
def test_the_flush_guard_refuses_exactly_the_undeclared_changes(
    engine: Engine, walk: tuple[type, str, type[StrEnum], StrEnum, list[StrEnum]]
) -> None:
    cls, attr, machine, start, targets = walk
    row = _row(cls, attr, start.value)
    with Session(engine) as s:
        s.add(row)
        s.commit()  # an insert: any starting status may be stored
        key = row.id
    current = start.value
    for target in targets:
        with Session(engine) as s:
            setattr(s.get(cls, key), attr, target.value)
            try:
                s.commit()
            except IllegalTransition:
                s.rollback()
                assert not can_transition(machine, current, target.value) and target.value != current
                assert stored(engine, cls, key, attr) == current  # refused and unchanged
                continue
        assert target.value == current or can_transition(machine, current, target.value)
        current = target.value
        assert stored(engine, cls, key, attr) == current
