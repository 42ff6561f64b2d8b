"""Database engines and sessions, for PostgreSQL (production, tests) and SQLite (the embedded default).

One async engine per process. On SQLite every transaction begins IMMEDIATE, so concurrent writers queue on
the busy timeout instead of failing to upgrade a read lock: the conditional updates that guard inventory
stay correct on both databases.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession


def async_url(url: str) -> str:
    """The async driver form of a configured URL (``sqlite:///`` → ``sqlite+aiosqlite:///``)."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url[len("sqlite:") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def sync_url(url: str) -> str:
    """The sync driver form of a configured URL (used by Alembic)."""
    if url.startswith("sqlite+aiosqlite:"):
        return "sqlite:" + url[len("sqlite+aiosqlite:") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def configure_sqlite(sync_engine: Any) -> None:
    """WAL, a long busy timeout, foreign keys, and IMMEDIATE transactions on every SQLite connection."""

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False):
        self.url = async_url(url)
        kwargs: dict[str, Any] = {"echo": echo}
        if is_sqlite(self.url):
            kwargs["connect_args"] = {"timeout": 30}
        else:
            # No pre-ping (a round trip per checkout); recycle connections instead.
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if is_sqlite(self.url):
            configure_sqlite(self.engine.sync_engine)
        self.sessionmaker = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session; the caller commits. Rolled back on error."""
        async with self.sessionmaker() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction, committed on success and rolled back on error."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def snapshot(self, session: AsyncSession) -> None:
        """Make the session's next transaction read one snapshot (PostgreSQL: REPEATABLE READ), so a view built
        from several queries (an order, its lines, tickets and transaction) is never torn by a commit between
        them. Call before the session's first query; for reads only. SQLite transactions already are."""
        if not self.is_sqlite:
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()
