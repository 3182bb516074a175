"""Shared by the importer, CLI and migration tests: running ``ivr`` in-process, CSV files,
and databases that have not been migrated yet."""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ivr import migrate
from ivr.cli import main
from ivr.config import Settings
from ivr.ops.importer import COLUMNS
from tests.conftest import POSTGRES_URL, PUBLIC_BASE_URL


def head_revision() -> str:
    """The newest migration in ivr/migrations/versions (there must be exactly one head)."""
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    heads = script.get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"
    assert heads[0] == migrate.head_revision()
    return heads[0]


def cli_env(database_url: str, **values: str | None) -> dict[str, str | None]:
    """The environment for one ``ivr`` run: every setting unset (``None``) unless given here,
    so a developer's own DATABASE_URL or IVR_ENV cannot leak into the tests."""
    env: dict[str, str | None] = {f.name: None for f in dataclasses.fields(Settings)}
    env.update(DATABASE_URL=database_url, PUBLIC_BASE_URL=PUBLIC_BASE_URL)
    env.update(values)
    return env


def run_ivr(args: Sequence[str], env: Mapping[str, str | None], stdin: str | None = None) -> Result:
    """Run ``ivr ARGS`` in this process. ``result.stdout`` and ``result.stderr`` are separate;
    ``result.output`` has both. Every command closes the services it built (a PostgreSQL
    connection left open here would fail a later test with a ResourceWarning)."""
    logger = logging.getLogger("ivr")
    handlers, level = list(logger.handlers), logger.level
    try:
        return CliRunner().invoke(
            main,
            list(args),
            input=stdin,
            env=dict(env),
            prog_name="ivr",
            catch_exceptions=False,
        )
    finally:
        # `ivr call` configures logging to the runner's temporary stderr; undo that.
        logger.handlers[:] = handlers
        logger.setLevel(level)


def csv_text(rows: Sequence[Mapping[str, str]], columns: Sequence[str] = COLUMNS) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore"
    )
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_csv(
    path: Path,
    rows: Sequence[Mapping[str, str]],
    columns: Sequence[str] = COLUMNS,
    encoding: str = "utf-8",
) -> Path:
    path.write_bytes(csv_text(rows, columns).encode(encoding))
    return path


@contextmanager
def empty_database(request: pytest.FixtureRequest, backend: str, directory: Path) -> Iterator[str]:
    """A database URL with no tables at all: a new SQLite file, or a new PostgreSQL schema
    (skipped or failed like every PostgreSQL test when the server is unreachable)."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'empty.sqlite3'}"
        return
    request.getfixturevalue("postgres_schema_url")  # reachability check, shared with conftest
    schema = f"ivr_empty_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
