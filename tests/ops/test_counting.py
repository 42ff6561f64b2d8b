"""How facts are counted: once their transaction commits, never when it rolls back, with bounded labels."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import text

from boxoffice import metrics
from boxoffice.db import Database


@pytest.fixture
def counter() -> Counter:
    return Counter("boxoffice_test_facts_total", "facts", registry=CollectorRegistry())


async def test_a_fact_counts_once_its_transaction_commits(session_db: Database, counter: Counter) -> None:
    seen = []
    async with session_db.transaction() as session:
        await session.execute(text("SELECT 1"))
        metrics.on_commit(session, counter.inc)
        metrics.on_commit(session, lambda: seen.append(counter._value.get()))
        assert counter._value.get() == 0  # not before the commit
    assert counter._value.get() == 1 and seen == [1.0]  # after it, in the order registered

    with pytest.raises(RuntimeError):
        async with session_db.transaction() as session:
            await session.execute(text("SELECT 1"))
            metrics.on_commit(session, counter.inc)
            raise RuntimeError("the step failed: its transaction rolls back")
    assert counter._value.get() == 1

    # A session used for several transactions: a rolled-back one's facts do not leak into the next commit.
    async with session_db.session() as session:
        await session.execute(text("SELECT 1"))
        metrics.on_commit(session, counter.inc)
        await session.rollback()
        await session.execute(text("SELECT 1"))
        await session.commit()
        assert counter._value.get() == 1
        metrics.on_commit(session, counter.inc)
        await session.commit()
    assert counter._value.get() == 2


def test_labels_are_short_codes() -> None:
    assert metrics.code("sold_out") == "sold_out"
    assert metrics.code("HoldExpired") == "hold_expired"
    assert metrics.code("payment_declined") == "payment_declined"
    for free in (None, "", "3f2c9a1e-0000-4000-8000-000000000000", "a reason with spaces", "x" * 60, "Ünïcode"):
        assert metrics.code(free) == "other", free
