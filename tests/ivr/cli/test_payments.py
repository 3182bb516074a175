"""``ivr payments export`` (ivr/cli/payments.py): the rows for the billing system, as files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.ops.export import COLUMNS
from tests.support.cli import cli_env, run_ivr
from tests.support.factories import add_account, settled_payment

NOON = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
WINDOW = ["--since", "2026-12-01T07:00:00-05:00", "--until", "2026-12-02"]


@pytest.fixture
def env(database_url: str, db: Session, settings: Settings) -> dict[str, str | None]:
    """Two payments in the window, one before it."""
    ada = add_account(db, settings)
    for minutes in (0, 30, -1):
        settled_payment(db, ada, 1000 + minutes, NOON + dt.timedelta(minutes=minutes))
    return cli_env(database_url)


@pytest.mark.parametrize("form", ["csv", "jsonl"])
def test_an_export_run_twice_writes_the_same_bytes(form: str, env: dict[str, str | None]) -> None:
    first, second = (run_ivr(["payments", "export", *WINDOW, "--format", form], env) for _ in "12")

    assert (first.exit_code, first.stderr) == (0, "Exported 2 rows.\n"), first.output
    assert first.stdout == second.stdout
    lines = first.stdout.splitlines()
    assert len(lines) == (3 if form == "csv" else 2)
    if form == "jsonl":
        assert [json.loads(line)["amount_cents"] for line in lines] == [1000, 1030]
        assert list(json.loads(lines[0])) == list(COLUMNS)


def test_out_writes_the_file_and_nothing_to_standard_output(
    env: dict[str, str | None], tmp_path: Path
) -> None:
    on_stdout = run_ivr(["payments", "export", *WINDOW], env).stdout
    path = tmp_path / "ivr-payments.csv"

    result = run_ivr(["payments", "export", *WINDOW, "--out", str(path)], env)

    assert (result.exit_code, result.stdout) == (0, "")
    assert path.read_bytes() == on_stdout.encode()
    assert on_stdout.startswith(",".join(COLUMNS) + "\n")


def test_since_is_required_and_must_be_an_instant(database_url: str) -> None:
    env = cli_env(database_url)
    missing = run_ivr(["payments", "export"], env)
    assert missing.exit_code == 2 and "Missing option '--since'" in missing.stderr
    bad = run_ivr(["payments", "export", "--since", "last week"], env)
    assert bad.exit_code == 2
    assert "'last week' is not an instant like 2026-12-02T18:00:00Z" in bad.stderr


def test_the_help_names_every_column_and_the_loop() -> None:
    result = run_ivr(["payments", "export", "--help"], cli_env("sqlite://"))
    described = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("    ")]
    assert [name for name in described if name in COLUMNS] == list(COLUMNS)
    assert "ivr accounts import --as-of" in result.stdout
