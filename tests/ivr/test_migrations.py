"""Alembic migrations (ivr/migrations, ivr/migrate.py) on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from ivr import migrate
from ivr.db import make_engine
from ivr.models import Base
from tests.conftest import BACKENDS
from tests.support.cli import empty_database, head_revision


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with empty_database(request, request.param, tmp_path) as url:
        yield url


def schema_of(url: str) -> dict[str, Any]:
    """Tables with their columns, indexes, unique and foreign keys, comparable with ==."""
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        schema = {}
        for table in sorted(inspector.get_table_names()):
            columns = inspector.get_columns(table)
            indexes = inspector.get_indexes(table)
            uniques = inspector.get_unique_constraints(table)
            foreign = inspector.get_foreign_keys(table)
            schema[table] = {
                "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in columns],
                "indexes": sorted((i["name"], tuple(i["column_names"])) for i in indexes),
                "unique": sorted(tuple(u["column_names"]) for u in uniques),
                "foreign": sorted(
                    (f["referred_table"], tuple(f["constrained_columns"])) for f in foreign
                ),
            }
        return schema
    finally:
        engine.dispose()


def test_the_migrations_form_one_line() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    revisions = list(script.walk_revisions())
    assert revisions[-1].down_revision is None
    assert revisions[0].revision == head_revision()
    # newest first, each one revising the next
    for newer, older in itertools.pairwise(revisions):
        assert newer.down_revision == older.revision
    # revision ids are the numbered file names, so the head is the highest number
    versions = Path(migrate.__file__).parent / "migrations" / "versions"
    assert head_revision() == max(path.name[:4] for path in versions.glob("[0-9]*.py"))


def test_upgrading_an_empty_database_reaches_head_with_every_table(empty_url: str) -> None:
    assert migrate.current_revision(empty_url) is None

    migrate.upgrade(empty_url)

    assert migrate.current_revision(empty_url) == head_revision()
    assert set(schema_of(empty_url)) == {*Base.metadata.tables, "alembic_version"}


def test_upgrading_twice_changes_nothing(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO lockout_counters (subject, failures, window_started_at)"
                " VALUES ('account:1', 2, '2026-01-01 00:00:00')"
            )
        )
    before = schema_of(empty_url)

    migrate.upgrade(empty_url)

    assert migrate.current_revision(empty_url) == head_revision()
    assert schema_of(empty_url) == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT subject, failures FROM lockout_counters")).all() == [
            ("account:1", 2)
        ]
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    engine.dispose()


def test_downgrading_to_base_and_upgrading_again_rebuilds_the_same_schema(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    built = schema_of(empty_url)

    command.downgrade(migrate.alembic_config(empty_url), "base")
    assert set(schema_of(empty_url)) == {"alembic_version"}
    assert migrate.current_revision(empty_url) is None

    migrate.upgrade(empty_url)
    assert schema_of(empty_url) == built


def test_the_models_match_the_migrations(database_url: str) -> None:
    """What ``alembic revision --autogenerate`` would find: nothing."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def _call_in_card_capture(conn: Connection) -> None:
    """A call keying its card (sid ``CAkept``), written as the pre-0010 schema names it."""
    conn.execute(
        text(
            "INSERT INTO call_sessions (sid, channel, language, state, data, verified, turn,"
            " status, created_at, updated_at, expires_at) VALUES ('CAkept', 'voice',"
            " 'en-US', 'card_code', '{}', true, 7, 'active', :at, :at, :at)"
        ),
        {"at": "2026-12-01 00:00:00"},
    )
    _capture(conn, "CAkept")


def _capture(conn: Connection, sid: str) -> None:
    conn.execute(
        text(
            "INSERT INTO card_captures (session_sid, key_id, nonce, ciphertext,"
            " expires_at, created_at) VALUES (:sid, 'k', :nonce, :blob, :at, :at)"
        ),
        {"sid": sid, "nonce": b"n" * 12, "blob": b"blob", "at": "2026-12-01 00:00:00"},
    )


def test_captures_get_a_cascading_key_to_their_session_and_lose_their_orphans(
    empty_url: str,
) -> None:
    """0008: a capture whose session was purged (all earlier versions left them) is deleted
    before the key is added; afterwards deleting a session deletes its capture."""
    migrate.upgrade(empty_url, "0007")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        _call_in_card_capture(conn)
        _capture(conn, "CAorphan")
    engine.dispose()

    migrate.upgrade(empty_url, "0008")

    assert ("call_sessions", ("session_sid",)) in schema_of(empty_url)["card_captures"]["foreign"]
    app_engine = make_engine(empty_url)  # SQLite enforces keys only where the app turns them on
    try:
        with app_engine.begin() as conn:
            assert conn.execute(text("SELECT session_sid FROM card_captures")).all() == [
                ("CAkept",)
            ]
            conn.execute(text("DELETE FROM call_sessions WHERE sid = 'CAkept'"))
            assert conn.execute(text("SELECT count(*) FROM card_captures")).scalar() == 0
    finally:
        app_engine.dispose()


def test_call_sessions_become_conversations_with_their_rows_and_captures(empty_url: str) -> None:
    """0010 renames the table: its rows stay, the captures' key follows it, and deleting a
    conversation still deletes its capture. Downgrading gives the old name back."""
    migrate.upgrade(empty_url, "0009")
    engine = create_engine(empty_url)
    with engine.begin() as conn:
        _call_in_card_capture(conn)
    engine.dispose()

    migrate.upgrade(empty_url)

    schema = schema_of(empty_url)
    assert "call_sessions" not in schema
    assert ("conversations", ("session_sid",)) in schema["card_captures"]["foreign"]
    app_engine = make_engine(empty_url)
    try:
        with app_engine.begin() as conn:
            assert conn.execute(text("SELECT sid, turn FROM conversations")).all() == [
                ("CAkept", 7)
            ]
            conn.execute(text("DELETE FROM conversations WHERE sid = 'CAkept'"))
            assert conn.execute(text("SELECT count(*) FROM card_captures")).scalar() == 0
    finally:
        app_engine.dispose()

    command.downgrade(migrate.alembic_config(empty_url), "0009")
    assert "call_sessions" in schema_of(empty_url) and "conversations" not in schema_of(empty_url)


def test_accounts_gain_an_empty_balance_as_of_and_keep_their_rows(empty_url: str) -> None:
    """0012: existing accounts have no balance_as_of (their next import is taken as before);
    downgrading drops the column and keeps the accounts."""
    migrate.upgrade(empty_url, "0010")
    engine = create_engine(empty_url)
    account = (
        "INSERT INTO accounts (number, name, pin_hash, balance_cents, minimum_due_cents, status,"
        " language, time_zone, created_at, updated_at) VALUES ('70000001', 'Ada', 'h', 14250,"
        " 0, 'active', 'en-US', 'America/New_York', :at, :at)"
    )
    dispute = (  # a row that refers to the account: a downgrade must not trip on it
        "INSERT INTO disputes (account_id, reference_number, amount_cents, scope, status,"
        " channel, created_at) SELECT id, '4829130057', 5000, 'amount', 'open', 'voice', :at"
        " FROM accounts"
    )
    with engine.begin() as conn:
        conn.execute(text(account), {"at": "2026-12-01 00:00:00"})
        conn.execute(text(dispute), {"at": "2026-12-01 00:00:00"})
    engine.dispose()

    migrate.upgrade(empty_url)

    columns = {name: nullable for name, _, nullable in schema_of(empty_url)["accounts"]["columns"]}
    assert columns["balance_as_of"] is True
    engine = create_engine(empty_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT number, balance_as_of FROM accounts")).all() == [
            ("70000001", None)
        ]
    engine.dispose()

    command.downgrade(migrate.alembic_config(empty_url), "0010")
    assert "balance_as_of" not in {c[0] for c in schema_of(empty_url)["accounts"]["columns"]}
    engine = create_engine(empty_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT number FROM accounts")).all() == [("70000001",)]
        assert conn.execute(text("SELECT count(*) FROM disputes")).scalar() == 1
    engine.dispose()


def test_disputes_gain_an_empty_resolution_note_and_keep_their_rows(empty_url: str) -> None:
    """0013 adds ``disputes.closed_note``: a dispute resolved before it keeps its row, with no
    note; downgrading drops the column and nothing else."""
    before = ScriptDirectory.from_config(migrate.alembic_config(empty_url)).get_revision("0013")
    assert before is not None and isinstance(before.down_revision, str)
    migrate.upgrade(empty_url, before.down_revision)
    engine = create_engine(empty_url)
    at = {"at": "2026-12-01 00:00:00"}
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO accounts (id, number, name, pin_hash, balance_cents,"
                " minimum_due_cents, status, language, time_zone, created_at, updated_at)"
                " VALUES (1, '70000001', 'Ada', 'h', 14250, 0, 'active', 'en-US',"
                " 'America/New_York', :at, :at)"
            ),
            at,
        )
        conn.execute(
            text(
                "INSERT INTO disputes (account_id, reference_number, amount_cents, scope, status,"
                " channel, created_at, closed_at, closed_by) VALUES (1, '4829130057', 5000,"
                " 'amount', 'denied', 'voice', :at, :at, 'operator:kim')"
            ),
            at,
        )
    engine.dispose()

    migrate.upgrade(empty_url)

    engine = create_engine(empty_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT reference_number, closed_by, closed_note FROM disputes")
            ).one()
        assert tuple(row) == ("4829130057", "operator:kim", None)
    finally:
        engine.dispose()
    command.downgrade(migrate.alembic_config(empty_url), before.down_revision)
    columns = [name for name, _, _ in schema_of(empty_url)["disputes"]["columns"]]
    assert "closed_note" not in columns and "closed_by" in columns


def test_reconnection_requests_come_and_go_with_0011(empty_url: str) -> None:
    """0011 adds the table, one request per payment; downgrading drops it and nothing else."""
    migrate.upgrade(empty_url, "0010")
    before = schema_of(empty_url)

    migrate.upgrade(empty_url, "0011")

    table = schema_of(empty_url)["reconnection_requests"]
    assert [name for name, _, _ in table["columns"]] == [
        "id", "account_id", "payment_id", "amount_cents", "fee_cents", "status", "language",
        "created_at", "expected_by",
    ]  # fmt: skip
    assert ("payment_id",) in table["unique"]
    assert sorted(table["foreign"]) == [
        ("accounts", ("account_id",)),
        ("payments", ("payment_id",)),
    ]
    engine = create_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO accounts (id, number, name, pin_hash, balance_cents,"
                    " minimum_due_cents, status, language, time_zone, created_at, updated_at)"
                    " VALUES (1, '70000001', 'Ada', 'h', 0, 0, 'disconnected', 'en-US',"
                    " 'America/New_York', :at, :at)"
                ),
                {"at": "2026-12-01 00:00:00"},
            )
            conn.execute(
                text(
                    "INSERT INTO payments (id, account_id, amount_cents, fee_cents, status,"
                    " idempotency_key, channel, gateway, created_at, updated_at) VALUES"
                    " (1, 1, 30000, 0, 'approved', 'k', 'voice', 'sandbox', :at, :at)"
                ),
                {"at": "2026-12-01 00:00:00"},
            )
            request = (
                "INSERT INTO reconnection_requests (account_id, payment_id, amount_cents,"
                " fee_cents, status, language, created_at, expected_by) VALUES"
                " (1, 1, 30000, 5000, 'pending', 'en-US', :at, :at)"
            )
            conn.execute(text(request), {"at": "2026-12-01 00:00:00"})
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(request), {"at": "2026-12-01 00:00:00"})  # the same payment
    finally:
        engine.dispose()

    command.downgrade(migrate.alembic_config(empty_url), "0010")
    assert schema_of(empty_url) == before
