"""The ``ivr`` command (ivr/cli/), run in-process with settings from the environment."""

from __future__ import annotations

import datetime as dt
import gc
import re
import socket
import warnings
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from ivr.cli import calls, main
from ivr.config import Settings
from ivr.models import (
    Account,
    AuditEvent,
    Conversation,
    LockoutCounter,
    Payment,
    PaymentStatus,
    utcnow,
)
from ivr.ops.demo import demo_rows
from ivr.ops.importer import COLUMNS
from prompts.catalog import LANGUAGES, messages
from tests.conftest import BACKENDS
from tests.support.cli import (
    cli_env,
    empty_database,
    head_revision,
    run_ivr,
    write_csv,
)
from tests.support.factories import account_row, add_account
from verification import find_account

ADA_BALANCE = "142 dollars and 50 cents"


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with empty_database(request, request.param, tmp_path) as url:
        yield url


@pytest.fixture
def env(database_url: str) -> dict[str, str | None]:
    return cli_env(database_url)


def count_accounts(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(Account)).scalar_one()
    finally:
        engine.dispose()


def flat(text: str) -> str:
    return " ".join(text.split())


# --- help ----------------------------------------------------------------------------------


def command_paths(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            assert sub is not None, name
            yield from command_paths(sub, (*path, name))


def resolve(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        sub = command.get_command(click.Context(command), name)
        assert sub is not None, name
        command = sub
    return command


PATHS = list(command_paths(main))


def test_every_documented_command_exists() -> None:
    documented = {
        ("db", "upgrade"),
        ("db", "current"),
        ("accounts", "import"),
        ("accounts", "show"),
        ("accounts", "unlock"),
        ("demo",),
        ("serve",),
        ("call",),
        ("sessions", "purge"),
    }
    assert documented <= set(PATHS)


@pytest.mark.parametrize("path", PATHS, ids=lambda path: " ".join(("ivr", *path)))
def test_help_works_for_every_command_and_says_something(path: tuple[str, ...]) -> None:
    command = resolve(path)
    result = run_ivr([*path, "--help"], cli_env("sqlite://"))

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.startswith(f"Usage: {' '.join(('ivr', *path))} ")
    summary = (command.help or "").split()
    assert len(summary) >= 4, f"ivr {' '.join(path)} has almost no help text"
    assert " ".join(summary[:4]) in flat(result.stdout)
    if isinstance(command, click.Group):
        listed = result.stdout.split("Commands:")[1]
        for name in command.commands:
            assert re.search(rf"^\s+{name}\s+\S", listed, re.MULTILINE), name


def test_short_help_option_and_version() -> None:
    assert run_ivr(["-h"], cli_env("sqlite://")).stdout.startswith("Usage: ivr ")
    version = run_ivr(["--version"], cli_env("sqlite://"))
    assert (version.exit_code, version.stdout) == (0, "ivr, version 0.1.0\n")


def test_an_unknown_command_is_a_usage_error() -> None:
    result = run_ivr(["frobnicate"], cli_env("sqlite://"))
    assert result.exit_code == 2
    assert "No such command 'frobnicate'" in result.stderr


# --- ivr db --------------------------------------------------------------------------------


def test_db_upgrade_then_current_prints_the_head_revision(empty_url: str) -> None:
    env = cli_env(empty_url)
    before = run_ivr(["db", "current"], env)
    assert (before.exit_code, before.stdout) == (0, "none\n")

    upgraded = run_ivr(["db", "upgrade"], env)
    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.stdout.startswith("Database ")
    assert upgraded.stdout.endswith(f" is at revision {head_revision()}.\n")

    current = run_ivr(["db", "current"], env)
    assert (current.exit_code, current.stdout) == (0, f"{head_revision()}\n")
    again = run_ivr(["db", "upgrade"], env)
    assert again.exit_code == 0 and again.stdout == upgraded.stdout


def test_db_upgrade_hides_the_database_password(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with empty_database(request, "postgresql", tmp_path) as url:
        with_password = make_url(url).set(password="hunter2")  # trust auth ignores it
        env = cli_env(with_password.render_as_string(hide_password=False))
        result = run_ivr(["db", "upgrade"], env)

    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert result.stdout.startswith("Database postgresql+psycopg://postgres:***@127.0.0.1:")


# --- ivr accounts import -------------------------------------------------------------------


def test_import_of_a_clean_file_exits_0(
    env: dict[str, str | None], db: Session, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "clean.csv", [account_row(), account_row(account_number="7002")])
    result = run_ivr(["accounts", "import", str(path)], env)

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == f"Imported 2 accounts from {path}.\n"
    assert find_account(db, "7002") is not None


def test_import_of_a_mixed_file_reports_file_and_line_and_exits_1(
    env: dict[str, str | None], db: Session, tmp_path: Path
) -> None:
    rows = [
        account_row(),
        account_row(account_number="70000002", pin="12"),
        account_row(account_number="70000003", email="nobody"),
        account_row(account_number="70000004"),
    ]
    path = write_csv(tmp_path / "mixed.csv", rows)
    result = run_ivr(["accounts", "import", str(path)], env)

    assert result.exit_code == 1
    assert result.stdout == f"Imported 2 accounts from {path}.\n"
    assert result.stderr == (
        "2 rows were rejected:\n"
        f"  {path}:3: pin must be 4 to 8 digits\n"
        f"  {path}:4: email 'nobody' is not an email address\n"
    )
    assert [find_account(db, n) is not None for n in ("70000001", "70000002", "70000004")] == [
        True,
        False,
        True,
    ]


def test_import_shows_the_first_50_errors_and_counts_the_rest(
    env: dict[str, str | None], tmp_path: Path
) -> None:
    bad = [account_row(account_number=str(80000000 + n), pin="1") for n in range(53)]
    path = write_csv(tmp_path / "bad.csv", [account_row(), *bad])
    result = run_ivr(["accounts", "import", str(path)], env)

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "53 rows were rejected:"
    assert lines[1] == f"  {path}:3: pin must be 4 to 8 digits"
    assert lines[50] == f"  {path}:52: pin must be 4 to 8 digits"
    assert lines[51:] == ["  ... and 3 more."]


def test_import_with_a_bad_header_exits_2_and_lists_the_expected_columns(
    env: dict[str, str | None], database_url: str, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "header.csv", [account_row()], columns=COLUMNS[:4])
    result = run_ivr(["accounts", "import", str(path)], env)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert (
        f"Error: {path}: the header lacks pin, balance; expected columns: {', '.join(COLUMNS)}"
        in result.stderr
    )
    assert count_accounts(database_url) == 0


def test_import_of_a_file_that_is_not_utf8_names_its_rows_and_lands_the_rest(
    env: dict[str, str | None], database_url: str, tmp_path: Path
) -> None:
    rows = [account_row(name="Benito Juárez"), account_row(account_number="70000002")]
    path = write_csv(tmp_path / "latin1.csv", rows, encoding="latin-1")
    result = run_ivr(["accounts", "import", str(path)], env)

    assert result.exit_code == 1
    assert result.stdout == f"Imported 1 accounts from {path}.\n"
    assert result.stderr == (
        "1 row was rejected:\n"
        f"  {path}:2: name holds the byte 0xE1 (character 10), which is not UTF-8; "
        "export the file as UTF-8 CSV\n"
    )
    assert count_accounts(database_url) == 1


def test_import_closes_the_files_it_opens(env: dict[str, str | None], tmp_path: Path) -> None:
    path = write_csv(tmp_path / "clean.csv", [account_row()])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert run_ivr(["accounts", "import", str(path)], env).exit_code == 0
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []


def test_import_of_a_missing_file_is_a_usage_error(
    env: dict[str, str | None], tmp_path: Path
) -> None:
    result = run_ivr(["accounts", "import", str(tmp_path / "nope.csv")], env)
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


# --- ivr accounts show / unlock ------------------------------------------------------------


def test_show_masks_personal_data(
    env: dict[str, str | None], db: Session, settings: Settings
) -> None:
    ada = add_account(
        db, settings, phone="+15005550006;415-555-0123", pin="90417263", ssn_last4="3388"
    )
    db.add_all(
        [
            Payment(account_id=ada.id, amount_cents=5000, status=PaymentStatus.APPROVED,
                    idempotency_key="k1", confirmation_number="C7X2K9", channel="voice",
                    gateway="sandbox", created_at=utcnow() - dt.timedelta(days=1)),
            Payment(account_id=ada.id, amount_cents=9900, status=PaymentStatus.DECLINED,
                    idempotency_key="k2", channel="voice", gateway="sandbox"),
        ]
    )  # fmt: skip
    db.commit()

    result = run_ivr(["accounts", "show", "70000001"], env)

    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "Account:      70000001\n"
        "Name:         Ada Lovelace\n"
        "Status:       active\n"
        "Balance:      $142.50\n"
        "Minimum due:  $35.00\n"
        "Due date:     2026-12-19\n"
        "Phones:       ***0006, ***0123\n"
        "Email:        a***@example.com\n"
        "Service ZIP:  941**\n"
        "Language:     en-US\n"
        "Last payment: $50.00 #C7X2K9\n"
    )
    for secret in ("5005550006", "4155550123", "ada@", "90417263", "3388", "h1$", "94105"):
        assert secret not in result.output


def test_show_of_a_sparse_account_with_a_credit(
    env: dict[str, str | None], db: Session, settings: Settings
) -> None:
    add_account(
        db, settings, phone="", email="", service_zip="", ssn_last4="1234", balance="-1,005.00",
        minimum_due="0", due_date="",
    )  # fmt: skip
    result = run_ivr(["accounts", "show", "70000001"], env)

    assert result.exit_code == 0
    shown = dict(line.split(":", 1) for line in result.stdout.splitlines())
    assert {key: value.strip() for key, value in shown.items()} == {
        "Account": "70000001",
        "Name": "Ada Lovelace",
        "Status": "active",
        "Balance": "-$1,005.00",
        "Minimum due": "$0.00",
        "Due date": "-",
        "Phones": "-",
        "Email": "-",
        "Service ZIP": "-",
        "Language": "en-US",
        "Last payment": "-",
    }


def test_show_of_an_unknown_account_exits_1_with_a_hint(env: dict[str, str | None]) -> None:
    result = run_ivr(["accounts", "show", "99999999"], env)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "No account 99999999. Check the number, or import it first.\n"


def test_unlock_removes_the_accounts_lockout_and_audits_it(
    env: dict[str, str | None], db: Session, settings: Settings
) -> None:
    add_account(db, settings)
    locked = utcnow() + dt.timedelta(minutes=30)
    for subject in ("account:70000001", "account:70000002", "caller:+15005550006"):
        db.add(LockoutCounter(subject=subject, failures=3, locked_until=locked))
    db.commit()

    result = run_ivr(["accounts", "unlock", "70000001", "--by", "ann"], env)

    assert (result.exit_code, result.stdout) == (
        0,
        "Account 70000001 can verify by phone again.\n",
    )
    db.rollback()
    assert sorted(db.scalars(select(LockoutCounter.subject))) == [
        "account:70000002",
        "caller:+15005550006",
    ]
    events = db.execute(
        select(AuditEvent.action, AuditEvent.actor, AuditEvent.outcome, AuditEvent.resource)
    ).all()
    assert events == [("lockout.reset", "operator:ann", "success", "account:70000001")]


# --- ivr demo / call / sessions ------------------------------------------------------------


@pytest.mark.parametrize("command", [["call", "--press", "9"], ["serve"]])
def test_an_unmigrated_database_is_refused_with_what_to_run(
    empty_url: str, command: list[str]
) -> None:
    result = run_ivr(command, cli_env(empty_url))
    assert result.exit_code == 2
    assert "the database is at schema (none)" in result.stderr
    assert "run `ivr db upgrade`" in result.stderr


def test_demo_migrates_loads_six_accounts_prints_their_pins_and_can_run_again(
    empty_url: str,
) -> None:
    env = cli_env(empty_url)
    first = run_ivr(["demo"], env)

    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("Loaded 6 demo accounts:\n")
    rows = demo_rows(dt.date.today())
    assert len(rows) == 6
    for row in rows:
        assert re.search(
            rf"^  {row['account_number']}\s+{row['pin']}\s.*{re.escape(row['name'])}$",
            first.stdout,
            re.MULTILINE,
        ), row["account_number"]
    assert count_accounts(empty_url) == 6

    engine = create_engine(empty_url)
    with Session(engine) as session, session.begin():
        ada = find_account(session, "70000001")
        assert ada is not None
        ada.balance_cents = 1
    second = run_ivr(["demo"], env)

    assert second.exit_code == 0
    assert second.stdout.startswith("Loaded 6 demo accounts:\n")
    assert count_accounts(empty_url) == 6
    with Session(engine) as session:
        ada = find_account(session, "70000001")
        assert ada is not None and ada.balance_cents == 14250  # reset
    engine.dispose()


@pytest.fixture
def demo_env(env: dict[str, str | None]) -> dict[str, str | None]:
    assert run_ivr(["demo"], env).exit_code == 0
    return env


def test_call_hears_the_balance_of_the_demo_account(demo_env: dict[str, str | None]) -> None:
    result = run_ivr(["call", "--press", ",1,1234#,94105,2,2"], demo_env)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Calling +15005550000 from +15005550006..."
    assert any(ADA_BALANCE in line for line in lines if line.startswith("  IVR: "))
    assert "  caller presses: 1234#" in lines
    assert re.fullmatch(r"\(call ended; hung up by caller; call CA[0-9a-f]{32}\)", lines[-1])


CARD_DETAILS = ("4242424242424241", "4242424242424242", "1230", "739", "30301")
# a mistyped number first (its retry prompt hides the keys too), then the card
CARD = "4242424242424241#,4242424242424242#,1230,739,30301"


@pytest.mark.parametrize(
    ("mode", "after_capture"),
    [("dtmf", ["2"]), ("twilio-pay", [])],  # by DTMF, 2 cancels at the read-back
)
def test_call_shows_no_card_detail_the_caller_keys(
    demo_env: dict[str, str | None], mode: str, after_capture: list[str]
) -> None:
    presses = ",".join([",1,1234#,94105,1", CARD, *after_capture])
    result = run_ivr(["call", "--press", presses], {**demo_env, "CAPTURE_MODE": mode})

    assert result.exit_code == 0, result.output
    pressed = [line for line in result.stdout.splitlines() if "caller presses:" in line]
    hidden = [f"({len(keys)} keys, hidden)" for keys in CARD.split(",")]
    shown = ["(nothing)", "1", "1234#", "94105", "1", *hidden, *after_capture]
    assert pressed == [f"  caller presses: {keys}" for keys in shown]
    # a random call SID may hold "739" by chance: look only outside the SIDs
    output = re.sub(r"\bCA[0-9a-f]{32}\b", "CA…", result.output)
    for detail in CARD_DETAILS:
        assert detail not in output


@pytest.mark.parametrize(
    ("transfer", "line", "summary"),
    [
        ("queue", "  (waiting in the agents queue for a representative)", r"queue:agents"),
        ("dial", "  (transferred to +15005550100)", r"\+15005550100"),
    ],
)
def test_call_ending_in_0_reports_the_transfer(
    demo_env: dict[str, str | None], transfer: str, line: str, summary: str
) -> None:
    env = {**demo_env, "AGENT_TRANSFER": transfer}
    result = run_ivr(["call", "--press", ",1,1234#,94105,0"], env)

    assert result.exit_code == 0, result.output
    assert ADA_BALANCE in result.stdout
    assert line in result.stdout.splitlines()
    assert re.search(rf"^\(transferred to {summary}; hung up by \w+; call CA", result.stdout, re.M)


def test_call_reads_keys_from_stdin_when_not_a_terminal(demo_env: dict[str, str | None]) -> None:
    result = run_ivr(["call"], demo_env, stdin="\n1\n1234#\n94105\n1\n")
    assert result.exit_code == 0, result.output
    assert ADA_BALANCE in result.stdout


def test_call_to_a_server_that_is_not_running_says_so(env: dict[str, str | None]) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_ivr(["call", "--url", f"http://127.0.0.1:{port}", "--press", "1"], env)

    assert result.exit_code == 1
    assert f"Error: Cannot reach http://127.0.0.1:{port}" in result.stderr
    assert "Is `ivr serve` running?" in result.stderr


def test_sessions_purge_deletes_only_long_expired_sessions(
    env: dict[str, str | None], db: Session
) -> None:
    now = utcnow()
    for sid, expires in [("CAold", -48), ("CArecent", -2), ("CAlive", 1)]:
        db.add(
            Conversation(sid=sid, state="main_menu", expires_at=now + dt.timedelta(hours=expires))
        )
    db.commit()

    def remaining() -> list[str]:
        db.rollback()
        return sorted(db.scalars(select(Conversation.sid)))

    purged = run_ivr(["sessions", "purge"], env)
    assert purged.exit_code == 0
    assert purged.stdout == "Purged 1 expired sessions and 0 expired card captures.\n"
    assert remaining() == ["CAlive", "CArecent"]

    purged = run_ivr(["sessions", "purge", "--older-than", "1"], env)
    assert purged.stdout == "Purged 1 expired sessions and 0 expired card captures.\n"
    assert remaining() == ["CAlive"]


# --- configuration errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["db", "current"],
        ["db", "upgrade"],
        ["accounts", "show", "7000"],
        ["sessions", "purge"],
        ["demo"],
        ["call", "--press", "1"],
        ["serve"],
    ],
    ids=" ".join,
)
def test_production_without_secrets_exits_2_naming_them(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_server(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the server started despite the configuration error")

    monkeypatch.setattr(Flask, "run", no_server)
    url = f"sqlite:///{tmp_path / 'prod.sqlite3'}"
    result = run_ivr(args, cli_env(url, IVR_ENV="production", PUBLIC_BASE_URL=None))

    assert result.exit_code == 2
    assert (
        "Error: IVR_ENV=production needs these settings: TWILIO_AUTH_TOKEN, PIN_PEPPER, "
        "CAPTURE_KEY, SECRET_KEY, PUBLIC_BASE_URL." in flat(result.stderr)
    )
    assert not (tmp_path / "prod.sqlite3").exists()


PRODUCTION_SECRETS = {
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "f" * 32,
    "PIN_PEPPER": "p" * 64,
    "CAPTURE_KEY": "a2V5IG9mIDMyIGJ5dGVzIGZvciBhIGNsaSB0ZXN0ISE=",
    "SECRET_KEY": "s" * 64,
}


def test_production_with_its_secrets_runs(empty_url: str) -> None:
    production = {"IVR_ENV": "production", "TELEPHONY": "twilio"}
    result = run_ivr(["db", "current"], cli_env(empty_url, **production, **PRODUCTION_SECRETS))
    assert (result.exit_code, result.stdout) == (0, "none\n")


def test_production_with_the_development_secret_key_exits_2_saying_how_to_make_one(
    empty_url: str,
) -> None:
    production = {"IVR_ENV": "production", "TELEPHONY": "twilio"}
    secrets = {**PRODUCTION_SECRETS, "SECRET_KEY": "dev-secret-key-not-secret"}
    env = cli_env(empty_url, **production, **secrets)
    result = run_ivr(["serve"], env)
    assert result.exit_code == 2
    assert (
        "SECRET_KEY is the published development value; generate one with: openssl rand -hex 32"
        in flat(result.stderr)
    )


def test_a_malformed_setting_exits_2_naming_it(env: dict[str, str | None]) -> None:
    result = run_ivr(["sessions", "purge"], {**env, "LOCKOUT_MINUTES": "soon"})
    assert result.exit_code == 2
    assert "Error: LOCKOUT_MINUTES='soon' is not a whole number." in result.stderr


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_card_field_typed_at_the_keyboard_is_not_echoed(
    monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    """The terminal echoes what ``input`` reads; a card field is read without echo."""
    readers: list[str] = []
    monkeypatch.setattr("builtins.input", lambda _: readers.append("input") or "1")
    monkeypatch.setattr("getpass.getpass", lambda _: readers.append("getpass") or "739")
    words = messages(language)
    assert calls._keyboard(words["main_menu"]) == "1"
    assert calls._keyboard(f"{words['card_code_invalid']} {words['enter_card_code_back']}") == "739"
    assert readers == ["input", "getpass"]


def test_q_at_the_keyboard_hangs_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("builtins.input", lambda _: " q ")
    assert calls._keyboard("To pay, press 2.") is None
