"""A private PostgreSQL schema per run: created, migrated with the app's own migrations, and
dropped afterwards, so the benchmark never touches anyone else's tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ivr import migrate

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


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """Yield a URL whose connections use a new, migrated schema; drop it on the way out."""
    schema = f"ivr_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        rendered = scoped.render_as_string(hide_password=False)
        migrate.upgrade(rendered)
        yield rendered
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def analyze(url: str) -> None:
    """Refresh planner statistics after a bulk load, as autovacuum would in production."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    finally:
        engine.dispose()
