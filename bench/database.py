"""A private PostgreSQL schema per run: created, migrated with the app's own migrations, and
dropped afterwards, so the benchmark never touches anyone else's tables."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class DatabaseUnavailableError(RuntimeError):
    """PostgreSQL cannot be reached; the message says where we looked and what to do."""


def check_reachable(url: str) -> None:
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as error:
        first = str(error).splitlines()[0]
        raise DatabaseUnavailableError(
            f"PostgreSQL is not reachable at {make_url(url).render_as_string()}: {first}\n"
            "Start it, or pass --database-url (or set TEST_POSTGRES_URL) to a server where "
            "this user may create schemas."
        ) from None
    finally:
        engine.dispose()


def analyze(url: str) -> None:
    """Refresh planner statistics after a bulk load, as autovacuum would in production."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    finally:
        engine.dispose()
