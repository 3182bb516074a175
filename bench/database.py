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


def payment_integrity(url: str) -> dict[str, int]:
    """After a load: accounts paid more than once (each journey pays its own account in full
    once, so any is a duplicate payment), and gateway charges without exactly one payment."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            paid_twice = conn.execute(
                text(
                    "SELECT count(*) FROM (SELECT account_id FROM payments "
                    "WHERE status = 'approved' GROUP BY account_id HAVING count(*) > 1) twice"
                )
            ).scalar_one()
            orphans = conn.execute(
                text(
                    "SELECT count(*) FROM sandbox_charges c LEFT JOIN payments p "
                    "ON p.idempotency_key = c.idempotency_key WHERE p.id IS NULL"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    return {"accounts_paid_twice": int(paid_twice), "charges_without_payment": int(orphans)}
