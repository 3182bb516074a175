"""The billing loop end to end: pay through the IVR, export the payment for the billing system,
re-import its balances, and check that no file undoes what a caller paid (docs/operations.md,
"The billing loop")."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
from collections.abc import Mapping
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.models import Account, Payment, PaymentStatus, utcnow
from ivr.ops.importer import COLUMNS
from ivr.simulator.emulator import Simulator, keys_from
from tests.support.cli import cli_env, csv_text, run_ivr
from tests.support.factories import ADA_PHONE, account_row, payments
from tests.support.keys import VISA, paying

OPERATIONS = Path(__file__).parents[2] / "docs" / "operations.md"
DATED = (*COLUMNS, "balance_as_of")


@pytest.fixture
def env(database_url: str) -> dict[str, str | None]:
    return cli_env(database_url)


def pay_in_full(simulator: Simulator, db: Session) -> Payment:
    """Ada pays her whole balance ($142.50) by card through the IVR."""
    simulator.call(keys_from([*paying(), ""]), caller=ADA_PHONE)
    [payment] = payments(db)
    assert payment.status is PaymentStatus.APPROVED
    return payment


def billing_file(path: Path, as_of: dt.datetime | None, **overrides: str) -> Path:
    """Ada's row as the billing system writes it: her balance before she paid, unless told."""
    row = {**account_row(**overrides), "balance_as_of": as_of.isoformat() if as_of else ""}
    path.write_text(csv_text([row], DATED))
    return path


def owed(db: Session) -> tuple[int, int]:
    db.rollback()
    columns = (Account.balance_cents, Account.minimum_due_cents)
    row = db.execute(select(*columns).where(Account.number == "70000001")).one()
    return row[0], row[1]


def test_a_stale_billing_file_does_not_undo_a_payment_taken_through_the_ivr(
    simulator: Simulator, db: Session, ada: Account, env: dict[str, str | None], tmp_path: Path
) -> None:
    written = utcnow()  # the billing system's balances, before the call
    pay_in_full(simulator, db)
    assert owed(db) == (0, 0)

    result = run_ivr(["accounts", "import", str(billing_file(tmp_path / "a.csv", written))], env)

    assert (result.exit_code, result.stderr) == (0, ""), result.output
    assert "Adjusted 1 account for IVR payments approved after balance_as_of." in result.stdout
    assert owed(db) == (0, 0)  # $142.50 and $35.00 due, less the $142.50 paid since


def test_a_file_older_than_the_last_import_is_refused_and_force_takes_it(
    simulator: Simulator, db: Session, ada: Account, env: dict[str, str | None], tmp_path: Path
) -> None:
    stale = utcnow()
    pay_in_full(simulator, db)
    newer = billing_file(tmp_path / "newer.csv", utcnow(), balance="20.00", minimum_due="20.00")
    assert run_ivr(["accounts", "import", str(newer)], env).exit_code == 0
    assert owed(db) == (2000, 2000)  # posted, then a new $20.00 charge
    older = billing_file(tmp_path / "older.csv", stale)

    refused = run_ivr(["accounts", "import", str(older)], env)

    assert refused.exit_code == 1
    assert re.search(
        rf"^  {re.escape(str(older))}:2: balance_as_of \S+ is older than \S+, the last import "
        "of account 70000001: .* Import a newer file, or use --force$",
        refused.stderr,
        re.MULTILINE,
    ), refused.stderr
    assert owed(db) == (2000, 2000)

    forced = run_ivr(["accounts", "import", "--force", str(older)], env)

    assert (forced.exit_code, forced.stderr) == (0, ""), forced.output
    assert owed(db) == (0, 0)  # the old balances, and the payment since them still kept


def exported(env: Mapping[str, str | None], since: dt.datetime, form: str) -> str:
    result = run_ivr(["payments", "export", "--since", since.isoformat(), "--format", form], env)
    assert (result.exit_code, result.stderr) == (0, "Exported 1 rows.\n"), result.output
    return result.stdout


def test_the_payment_is_exported_with_a_stable_id_the_same_bytes_each_time(
    simulator: Simulator, db: Session, ada: Account, env: dict[str, str | None]
) -> None:
    since = utcnow()
    payment = pay_in_full(simulator, db)

    as_csv, as_jsonl = exported(env, since, "csv"), exported(env, since, "jsonl")

    assert exported(env, since, "csv") == as_csv
    assert exported(env, since, "jsonl") == as_jsonl
    [row] = [json.loads(line) for line in as_jsonl.splitlines()]
    assert row == {
        "id": f"payment:{payment.confirmation_number}",
        "kind": "payment",
        "occurred_at": payment.updated_at.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "account_number": "70000001",
        "amount_cents": 14250,
        "fee_cents": 0,
        "method": "visa ...4242",
        "channel": "voice",
        "confirmation_number": payment.confirmation_number,
    }
    assert as_csv.splitlines()[1].startswith(f"payment:{payment.confirmation_number},payment,")
    assert VISA not in as_csv + as_jsonl


def test_a_row_with_neither_zip_nor_ssn_is_rejected_while_the_good_rows_land(
    db: Session, env: dict[str, str | None], tmp_path: Path
) -> None:
    rows = [
        account_row(),
        account_row(account_number="70000002", service_zip="", ssn_last4=""),
        account_row(account_number="70000003", service_zip="", ssn_last4="6789"),
    ]
    path = tmp_path / "accounts.csv"
    path.write_text(csv_text(rows))

    result = run_ivr(["accounts", "import", str(path)], env)

    assert result.exit_code == 1
    assert result.stdout == f"Imported 2 accounts from {path}.\n"
    assert result.stderr == (
        "1 row was rejected:\n"
        f"  {path}:3: account 70000002 needs service_zip or ssn_last4: without one, no caller "
        "can verify\n"
    )
    db.rollback()
    assert db.scalars(select(Account.number).order_by(Account.number)).all() == [
        "70000001",
        "70000003",
    ]


def documented_loop() -> list[str]:
    """The commands of the billing loop's script in docs/operations.md, as written."""
    section = OPERATIONS.read_text().split("## The billing loop\n", 1)[1].split("\n## ", 1)[0]
    script = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("  #")[0].strip() for line in script.splitlines() if line.startswith("ivr ")]


def test_the_documented_loop_runs_as_written(
    simulator: Simulator,
    db: Session,
    ada: Account,
    env: dict[str, str | None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    since = utcnow()
    payment = pay_in_full(simulator, db)
    until = utcnow()
    # After posting the export, the billing system's balance: the payment, and a new $20.00
    billing_file(tmp_path / "accounts.csv", None, balance="20.00", minimum_due="20.00")
    shell = {"$since": since.isoformat(), "$until": until.isoformat()}

    commands = documented_loop()
    assert [command.split()[:3] for command in commands] == [
        ["ivr", "payments", "export"],
        ["ivr", "accounts", "import"],
    ]
    for command in commands:
        args = [shell.get(arg, arg) for arg in shlex.split(command.replace('"', ""))[1:]]
        result = run_ivr(args, env)
        assert result.exit_code == 0, result.output

    posted = (tmp_path / "ivr-payments.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in posted[1:]] == [f"payment:{payment.confirmation_number}"]
    assert owed(db) == (2000, 2000)  # the file holds the payment: nothing more taken off
