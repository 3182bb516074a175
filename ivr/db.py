"""Database engine and sessions.

One engine per process, built from ``DATABASE_URL``. SQLite (the embedded default) runs in WAL
mode and takes its write lock at ``BEGIN`` so two workers never interleave a read-modify-write;
PostgreSQL gets real row locks through ``SELECT ... FOR UPDATE`` where the code asks for them.

No ``pool_pre_ping``: it costs a round trip on every webhook to guard against a rare event. When
the server drops connections, the first statement on each fails, SQLAlchemy discards the pool,
the caller on that one request hears the safe "system error" message (the transaction rolled
back), and the next request connects afresh.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

Row = TypeVar("Row")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine, preparing SQLite files and pragmas on the way."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, **kwargs)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    with factory() as session, session.begin():
        yield session


def lock_row(session: Session, model: type[Row], key: Any) -> Row | None:
    """The row, locked until commit (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's write
    lock covers it) and read afresh. Changes pending in the session are written first, since
    the fresh read would otherwise discard them (voice turns run without autoflush)."""
    session.flush()
    return session.get(model, key, with_for_update=True, populate_existing=True)


def insert_on_conflict(session: Session, model: type[Any]) -> postgresql.Insert | sqlite.Insert:
    """``INSERT`` into ``model``'s table that can say ``ON CONFLICT``, in the session's
    database's own dialect (PostgreSQL or SQLite, which spell it alike)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)
