"""Importing accounts from the billing system's CSV export (ivr/ops/importer.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import Settings, load_settings
from ivr.db import transaction
from ivr.models import Account, AccountPhone, AccountStatus, PaymentStatus, utcnow
from ivr.ops import importer
from ivr.ops.importer import (
    COLUMNS,
    REQUIRED,
    HeaderError,
    ImportReport,
    RowError,
    import_accounts,
    parse_cents,
    parse_row,
)
from payments import ledger
from payments.gateways import ChargeResult, ChargeStatus
from tests.support.cli import cli_env, csv_text, run_ivr, write_csv
from tests.support.factories import account_row, add_account, balance, settled_payment
from verification import find_account, keyed_hash

DEV = load_settings(environ={})  # for checks that need no database


def encoded(text: str) -> bytes:
    """A file's bytes: a surrogate escape in ``text`` (U+DC80 to U+DCFF) stands for a byte
    that is not UTF-8, as in a Latin-1 or truncated export."""
    return text.encode("utf-8", "surrogateescape")


def load(factory: sessionmaker[Session], settings: Settings, text: str) -> ImportReport:
    return import_accounts(lambda: transaction(factory), io.BytesIO(encoded(text)), settings)


def load_rows(
    factory: sessionmaker[Session], settings: Settings, rows: Sequence[Mapping[str, str]]
) -> ImportReport:
    return load(factory, settings, csv_text(rows))


def stored(db: Session, number: str) -> Account | None:
    db.rollback()  # end the session's snapshot so it sees what the import committed
    return find_account(db, number)


def phones_of(account: Account) -> list[str]:
    return [phone.e164 for phone in account.phones]


def all_accounts(db: Session) -> list[Account]:
    return list(db.scalars(select(Account).order_by(Account.number)))


def account_count(db: Session) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(Account)) or 0


ImportFile = Callable[[str], ImportReport]


@pytest.fixture(params=["function", "command"])
def import_file(
    request: pytest.FixtureRequest,
    database_url: str,
    standalone_factory: sessionmaker[Session],
    settings: Settings,
    tmp_path: Path,
) -> ImportFile:
    """Import a CSV file's text through the importer, or through the command operators run;
    both answer with the report. The command's output and exit status are checked here: each
    rejected row printed with the file and line, and exit status 1 when any row was rejected."""
    if request.param == "function":
        return lambda text: load(standalone_factory, settings, text)

    def through_the_cli(text: str) -> ImportReport:
        path = tmp_path / "export.csv"
        path.write_bytes(encoded(text))
        result = run_ivr(["accounts", "import", str(path)], cli_env(database_url))
        done = re.fullmatch(
            rf"Imported (\d+) accounts from {re.escape(str(path))}\.\n"
            r"(?:Adjusted (\d+) accounts? for IVR payments approved after balance_as_of\.\n)?",
            result.stdout,
        )
        assert done is not None, result.output
        errors = []
        for printed in result.stderr.splitlines()[1:]:
            line, message = printed.removeprefix(f"  {path}:").split(": ", 1)
            errors.append((int(line), message))
        if errors:
            rejected = "1 row was" if len(errors) == 1 else f"{len(errors)} rows were"
            assert result.stderr.startswith(f"{rejected} rejected:\n")
        assert result.exit_code == (1 if errors else 0), result.output
        dated = done[2] is not None  # the command says only whether any row was dated
        return ImportReport(int(done[1]), errors, int(done[2] or 0), 1 if dated else 0)

    return through_the_cli


# --- amounts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "cents"),
    [
        ("142.50", 14250),
        ("$1,042.50", 104250),
        ("0.1", 10),  # one decimal place means dimes
        (".5", 50),
        ("7", 700),
        ("7.", 700),
        ("0.00", 0),
        ("-5.00", -500),  # a credit
        ("$-5.00", -500),
        ("-$5.00", -500),
        (" 12.34 ", 1234),
        ("1,234,567.89", 123456789),
    ],
)
def test_amounts_become_integer_cents(raw: str, cents: int) -> None:
    assert parse_cents(raw, "balance") == cents


@pytest.mark.parametrize(
    "raw",
    [
        *("", "  ", "abc", "12.345", "1e3", "$", "-", ".", "12.3.4", "12 50", "€5", "5-"),
        *("--5.00", "-$-5.00"),  # two minus signs once cancelled out into +5.00
    ],
)
def test_malformed_amounts_are_refused(raw: str) -> None:
    with pytest.raises(RowError, match=r"^balance .* is not an amount like 142\.50$"):
        parse_cents(raw, "balance")


# --- good rows -----------------------------------------------------------------------------


def test_good_rows_land_with_every_field_converted(
    standalone_factory: sessionmaker[Session], db: Session, settings: Settings
) -> None:
    rows = [
        account_row(),
        account_row(
            account_number="70000002",
            name="Benito Juárez",
            phone="(415) 555-0123; 415.555.0199|+1 212 555 0100",
            email="",
            service_zip="94105-1234",
            balance="$1,042.50",
            minimum_due="",
            due_date="12/19/2026",
            status="Past Due",
            language="es",
        ),
        account_row(
            account_number="0000000003",
            phone="",
            service_zip="",
            ssn_last4="6789",
            balance="-5.00",
            minimum_due="0",
            due_date="",
            status="",
            language="",
        ),
    ]
    report = load_rows(standalone_factory, settings, rows)
    assert (report.imported, report.errors) == (3, [])

    expected: dict[str, dict[str, Any]] = {
        "70000001": {
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "service_zip": "94105",
            "balance_cents": 14250,
            "minimum_due_cents": 3500,
            "due_date": dt.date(2026, 12, 19),
            "status": AccountStatus.ACTIVE,
            "language": "en-US",
            "time_zone": "America/New_York",
            "phones": ["+15005550006"],
        },
        "70000002": {
            "name": "Benito Juárez",
            "email": None,
            "service_zip": "94105",
            "balance_cents": 104250,
            "minimum_due_cents": 0,
            "due_date": dt.date(2026, 12, 19),
            "status": AccountStatus.PAST_DUE,
            "language": "es-US",
            "time_zone": "America/New_York",
            "phones": ["+14155550123", "+14155550199", "+12125550100"],
        },
        "0000000003": {  # leading zeros are part of the number
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "service_zip": None,
            "balance_cents": -500,
            "minimum_due_cents": 0,
            "due_date": None,
            "status": AccountStatus.ACTIVE,
            "language": "en-US",
            "time_zone": "America/New_York",
            "phones": [],
        },
    }
    for number, fields in expected.items():
        account = stored(db, number)
        assert account is not None, number
        actual = {name: getattr(account, name) for name in fields if name != "phones"}
        actual["phones"] = phones_of(account)
        assert actual == fields, number
    assert account_count(db) == 3


@pytest.mark.parametrize(
    ("raw", "phones"),
    [
        ("+15005550006", ("+15005550006",)),
        ("4155550123", ("+14155550123",)),
        ("1-800-FLOWERS", ("+18003569377",)),
        ("+44 20 7946 0958", ("+442079460958",)),
        ("415-555-0123;(415) 555 0123", ("+14155550123",)),  # the same number once
        ("415-555-0123;;415-555-0199;", ("+14155550123", "+14155550199")),
        ("415-555-0123 ; ; 415-555-0199", ("+14155550123", "+14155550199")),
        ("", ()),
    ],
)
def test_phones_are_stored_as_e164(raw: str, phones: tuple[str, ...]) -> None:
    assert parse_row(account_row(phone=raw), DEV).phones == phones


@pytest.mark.parametrize(
    ("raw", "language"),
    [
        ("en-US", "en-US"),
        ("EN", "en-US"),
        ("English", "en-US"),
        ("es-us", "es-US"),
        ("Spanish", "es-US"),
        ("español", "es-US"),
        ("", "en-US"),
    ],
)
def test_language_names_are_normalized(raw: str, language: str) -> None:
    assert parse_row(account_row(language=raw), DEV).values["language"] == language


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("active", "active"),
        ("PAST_DUE", "past_due"),
        ("past-due", "past_due"),
        ("Disconnected", "disconnected"),
        (" closed ", "closed"),
        ("", "active"),
    ],
)
def test_statuses_are_normalized(raw: str, status: str) -> None:
    assert parse_row(account_row(status=raw), DEV).values["status"] == AccountStatus(status)


def test_pin_and_ssn_are_stored_only_as_keyed_hashes(
    standalone_factory: sessionmaker[Session], db: Session, settings: Settings
) -> None:
    pin, ssn4 = "90417263", "3388"
    rows = [
        account_row(pin=pin, ssn_last4=ssn4, service_zip=""),
        account_row(account_number="70000002", pin=pin, ssn_last4=ssn4, service_zip=""),
    ]
    assert load_rows(standalone_factory, settings, rows).errors == []

    account = stored(db, "70000001")
    assert account is not None
    pepper = settings.PIN_PEPPER
    assert account.pin_hash == keyed_hash(pepper, "pin", "70000001", pin)
    assert account.ssn_last4_hash == keyed_hash(pepper, "ssn4", "70000001", ssn4)
    other = stored(db, "70000002")
    assert other is not None
    assert other.pin_hash != account.pin_hash  # the account number is mixed in
    assert keyed_hash("another pepper", "pin", "70000001", pin) != account.pin_hash

    for table in (Account.__table__, AccountPhone.__table__):
        for row in db.execute(select(table)).mappings():
            for column, value in row.items():
                assert pin not in str(value), f"{table.name}.{column} holds the PIN"
                assert ssn4 not in str(value), f"{table.name}.{column} holds the SSN digits"
    assert pin not in repr(account) and ssn4 not in repr(account)


def test_an_account_without_ssn_has_no_ssn_hash() -> None:
    assert parse_row(account_row(ssn_last4=""), DEV).values["ssn_last4_hash"] is None


# --- upserts -------------------------------------------------------------------------------


def test_importing_again_updates_the_account_and_replaces_its_phones(
    standalone_factory: sessionmaker[Session], db: Session, settings: Settings
) -> None:
    first = account_row(phone="+15005550006;415-555-0123")
    load_rows(standalone_factory, settings, [first, account_row(account_number="70000002")])
    before = stored(db, "70000001")
    assert before is not None
    original_id, created_at = before.id, before.created_at

    again = account_row(
        balance="10.00", minimum_due="10.00", phone="212 555 0100", status="closed", pin="4321"
    )
    report = load_rows(standalone_factory, settings, [again])

    assert (report.imported, report.errors) == (1, [])
    after = stored(db, "70000001")
    assert after is not None
    assert (after.id, after.created_at) == (original_id, created_at)
    assert after.updated_at >= created_at
    assert after.balance_cents == 1000
    assert after.status is AccountStatus.CLOSED
    assert after.pin_hash == keyed_hash(settings.PIN_PEPPER, "pin", "70000001", "4321")
    assert phones_of(after) == ["+12125550100"]
    assert account_count(db) == 2
    untouched = stored(db, "70000002")
    assert untouched is not None and phones_of(untouched) == ["+15005550006"]


def test_importing_the_same_file_again_leaves_unchanged_accounts_and_phones_alone(
    standalone_factory: sessionmaker[Session], db: Session, settings: Settings
) -> None:
    rows = [
        account_row(phone="+15005550006;415-555-0123"),
        account_row(account_number="70000002", phone="212 555 0100"),
        account_row(account_number="70000003", phone=""),
    ]
    load_rows(standalone_factory, settings, rows)
    db.rollback()
    before = {
        a.number: (a.updated_at, [(p.id, p.e164) for p in a.phones]) for a in all_accounts(db)
    }

    changed = account_row(account_number="70000002", phone="212 555 0100", balance="100.00")
    reordered = account_row(phone="415-555-0123;+15005550006")  # order counts: it is read out
    report = load_rows(standalone_factory, settings, [reordered, changed, rows[2]])

    assert (report.imported, report.errors) == (3, [])
    db.rollback()
    after = {a.number: (a.updated_at, [(p.id, p.e164) for p in a.phones]) for a in all_accounts(db)}
    assert after["70000003"] == before["70000003"]
    assert after["70000002"][0] > before["70000002"][0]  # the balance changed
    assert after["70000002"][1] == before["70000002"][1]  # the same phone row
    assert after["70000001"][0] == before["70000001"][0]  # no column changed
    assert [e164 for _, e164 in after["70000001"][1]] == ["+14155550123", "+15005550006"]


def test_rows_are_written_in_batches_and_the_last_partial_batch_lands(
    standalone_factory: sessionmaker[Session],
    db: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importer, "BATCH", 2)
    rows = [
        account_row(account_number=f"7000000{n}", balance=f"{n}.00", minimum_due="1.00")
        for n in range(1, 7)
    ]
    progress: list[int] = []

    report = import_accounts(
        lambda: transaction(standalone_factory),
        io.BytesIO(encoded(csv_text(rows))),
        settings,
        progress.append,
    )

    assert report.errors == []
    assert sum(progress) == 6  # every row read is counted once
    assert account_count(db) == 6
    balances = {n: stored(db, f"7000000{n}").balance_cents for n in range(1, 7)}  # type: ignore[union-attr]
    assert balances == {1: 100, 2: 200, 3: 300, 4: 400, 5: 500, 6: 600}


# --- bad rows ------------------------------------------------------------------------------

BAD_NUMBER = "70000009"
BAD_ROWS = [
    pytest.param({"account_number": ""}, "account_number is empty", id="no-account-number"),
    pytest.param({"name": "  "}, "name is empty", id="no-name"),
    pytest.param({"pin": ""}, "pin is empty", id="no-pin"),
    pytest.param({"balance": ""}, "balance is empty", id="no-balance"),
    pytest.param(
        {"account_number": "7000A009"}, "account_number must be 4 to 16 digits", id="number-letters"
    ),
    pytest.param({"account_number": "700"}, "account_number must be 4 to 16 digits", id="short"),
    pytest.param({"account_number": "7" * 17}, "account_number must be 4 to 16 digits", id="long"),
    pytest.param({"pin": "123"}, "pin must be 4 to 8 digits", id="pin-short"),
    pytest.param({"pin": "123456789"}, "pin must be 4 to 8 digits", id="pin-long"),
    pytest.param({"pin": "12a4"}, "pin must be 4 to 8 digits", id="pin-letters"),
    pytest.param({"service_zip": "9410"}, "service_zip must be 5 digits", id="zip-short"),
    pytest.param({"service_zip": "ABCDE"}, "service_zip must be 5 digits", id="zip-letters"),
    pytest.param({"ssn_last4": "123"}, "ssn_last4 must be 4 digits", id="ssn-short"),
    pytest.param({"ssn_last4": "12345"}, "ssn_last4 must be 4 digits", id="ssn-long"),
    pytest.param({"phone": "12345"}, "phone '12345' is not a valid phone number", id="phone"),
    pytest.param(
        {"phone": "+15005550006; 555"}, "phone '555' is not a valid phone number", id="2nd-phone"
    ),
    pytest.param(
        {"email": "ada.example.com"}, "email 'ada.example.com' is not an email address", id="email"
    ),
    pytest.param(
        {"status": "suspended"},
        "status 'suspended' is not one of: active, past_due, disconnected, closed",
        id="status",
    ),
    pytest.param({"language": "fr"}, "language 'fr' is not en-US or es-US", id="language"),
    pytest.param(
        {"balance": "12.345"}, "balance '12.345' is not an amount like 142.50", id="balance"
    ),
    pytest.param(
        {"minimum_due": "ten"}, "minimum_due 'ten' is not an amount like 142.50", id="minimum"
    ),
    # too large for BIGINT: these once aborted the whole import with a database error
    pytest.param(
        {"balance": "9" * 20}, f"balance '{'9' * 20}' is larger than any bill", id="huge-balance"
    ),
    pytest.param(
        {"minimum_due": "-$" + "9" * 20},
        f"minimum_due '-${'9' * 20}' is larger than any bill",
        id="huge-credit",
    ),
    # longer than the column: this once aborted the whole import on PostgreSQL
    pytest.param(
        {"email": "a" * 320 + "@x.com"}, f"email '{'a' * 60}' is not an email address", id="long"
    ),
    pytest.param(
        {"due_date": "2026-13-01"},
        "due_date '2026-13-01' is not a date like 2026-12-19",
        id="month",
    ),
    pytest.param(
        {"due_date": "19/12/2026"}, "due_date '19/12/2026' is not a date like 2026-12-19", id="dmy"
    ),
    pytest.param(
        {"due_date": "2026/12/19"}, "due_date '2026/12/19' is not a date like 2026-12-19", id="ymd"
    ),
    # a minimum due is 0 up to what is owed: these once landed without a word
    pytest.param(
        {"minimum_due": "-1.00"},
        "minimum_due '-1.00' is below zero; write 0 when nothing is due",
        id="negative-minimum",
    ),
    pytest.param(
        {"minimum_due": "142.51"},
        "minimum_due '142.51' is more than the balance '142.50'; it can be at most the balance",
        id="minimum-above-balance",
    ),
    pytest.param(
        {"balance": "0", "minimum_due": "35.00"},
        "minimum_due '35.00' is more than the balance '0'; it can be at most the balance",
        id="minimum-without-balance",
    ),
    pytest.param(
        {"balance": "-5.00", "minimum_due": "0.01"},
        "minimum_due '0.01' is more than the balance '-5.00'; it can be at most the balance",
        id="minimum-on-a-credit",
    ),
    # bad bytes: a NUL once aborted the whole import, good rows included
    *(
        pytest.param(
            {column: raw},
            f"{column} holds a NUL byte (character {at}); "
            "remove it, or export the file again as UTF-8 CSV",
            id=f"nul-{name}",
        )
        for column, raw, at, name in [
            ("name", "Ada\x00Lovelace", 4, "name"),
            ("account_number", "7000\x000009", 5, "number"),
            ("pin", "\x001234", 1, "pin"),
            ("email", "\x00", 1, "alone"),
            ("name", "Ada\nLove\x00lace", 9, "quoted-second-line"),
            ("name", "\x00\x00\x00", 1, "several"),
        ]
    ),
    *(
        pytest.param(
            {"name": raw},
            f"name holds the byte 0x{byte:02X} (character {at}), which is not UTF-8; "
            "export the file as UTF-8 CSV",
            id=name,
        )
        for raw, byte, at, name in [
            ("Benito Ju\udce1rez", 0xE1, 10, "latin-1"),
            ("Benito Ju\udcc3rez", 0xC3, 10, "truncated-utf8"),
            ("\udcff\udcfeAda", 0xFF, 1, "utf16-bom"),
            ("Ada\udced\udca0\udc80", 0xED, 4, "encoded-surrogate"),
        ]
    ),
    *(
        pytest.param(
            {column: raw},
            f"{column} holds the control character U+{code:04X} (character {at}); "
            "remove it and import the file again",
            id=name,
        )
        for column, raw, code, at, name in [
            ("name", "Ada\x07", 0x07, 4, "bell"),
            ("email", "ada@example.com\x1b[0m", 0x1B, 16, "escape"),
            ("phone", "+1500555\x080006", 0x08, 9, "backspace"),
            ("name", "Ada\x7fLovelace", 0x7F, 4, "delete"),
            ("name", "Ada\x85Lovelace", 0x85, 4, "c1-next-line"),
            ("balance", "142.50\x0c", 0x0C, 7, "form-feed"),
        ]
    ),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_ROWS)
def test_a_bad_row_is_reported_by_line_and_the_good_rows_still_land(
    import_file: ImportFile, db: Session, overrides: dict[str, str], message: str
) -> None:
    rows = [
        account_row(),  # line 2
        account_row(account_number="70000002", name="Benito\nJuárez"),  # lines 3 and 4
        account_row(**{"account_number": BAD_NUMBER, **overrides}),  # line 5
        account_row(account_number="70000003"),  # line 6 (or 7, after a two-line name)
    ]
    report = import_file(csv_text(rows))

    assert report.errors == [(5, message)]
    assert report.imported == 3
    assert account_count(db) == 3  # the good rows, and only they
    assert [account.number for account in all_accounts(db)] == ["70000001", "70000002", "70000003"]


def test_long_names_are_cut_to_the_column_size() -> None:
    assert parse_row(account_row(name="x" * 250), DEV).values["name"] == "x" * 200


# --- repeated account numbers ------------------------------------------------------------

ADA_NUMBER = "70000001"


def repeated(number: str, others: str) -> str:
    return (
        f"account_number {number!r} is also on {others}; "
        "none of its rows was imported: keep one and import the file again"
    )


@pytest.mark.parametrize(
    ("numbers", "refused"),
    [
        pytest.param(
            ["70000001", "70000002", "70000001", "70000003"],
            [(2, "70000001", "line 4"), (4, "70000001", "line 2")],
            id="twice",
        ),
        pytest.param(
            ["70000001", "70000001", "70000002", "70000001"],
            [
                (2, "70000001", "lines 3, 5"),
                (3, "70000001", "lines 2, 5"),
                (5, "70000001", "lines 2, 3"),
            ],
            id="three-times",
        ),
        pytest.param(
            [" 70000001", "70000002", "70000001 "],
            [(2, "70000001", "line 4"), (4, "70000001", "line 2")],
            id="spaces-around",
        ),
        pytest.param(
            ["70000001", "70000002", "70000001", "70000002", "70000003"],
            [
                (2, "70000001", "line 4"),
                (3, "70000002", "line 5"),
                (4, "70000001", "line 2"),
                (5, "70000002", "line 3"),
            ],
            id="two-numbers",
        ),
        pytest.param(
            ["70000002", *["70000001"] * 8],
            [(3, "70000001", "lines 4, 5, 6, 7, 8 and 2 more")]
            + [(line, "70000001", None) for line in range(4, 11)],
            id="eight-times",
        ),
        pytest.param(["70000001", "0070000001", "70000002"], [], id="leading-zeros-differ"),
    ],
)
def test_every_row_of_an_account_number_that_a_file_repeats_is_refused(
    import_file: ImportFile, db: Session, numbers: list[str], refused: list[Any]
) -> None:
    rows = [
        account_row(account_number=number, balance=f"{line}.00", minimum_due="0")
        for line, number in enumerate(numbers, start=2)
    ]
    report = import_file(csv_text(rows))

    named = [(line, repeated(number, others)) for line, number, others in refused if others]
    assert [error for error in report.errors if error in named] == named
    assert [line for line, _ in report.errors] == [line for line, _, _ in refused]
    landed = [n.strip() for n in numbers if sum(m.strip() == n.strip() for m in numbers) == 1]
    assert report.imported == len(landed)
    assert [account.number for account in all_accounts(db)] == sorted(landed)


def test_a_repeat_refuses_both_rows_across_batches_and_leaves_the_stored_account_alone(
    import_file: ImportFile, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert import_file(csv_text([account_row(balance="1.00", minimum_due="0")])).imported == 1
    before = stored(db, ADA_NUMBER)
    assert before is not None

    monkeypatch.setattr(importer, "BATCH", 2)  # line 2 and line 7 are parsed in different chunks
    rows = [
        account_row(balance="2.00", pin="1111"),
        *(account_row(account_number=f"7000000{n}") for n in range(2, 6)),
        account_row(balance="3.00", pin="2222", phone="212-555-0100"),
    ]
    report = import_file(csv_text(rows))

    assert report.errors == [
        (2, repeated(ADA_NUMBER, "line 7")),
        (7, repeated(ADA_NUMBER, "line 2")),
    ]
    assert report.imported == 4
    after = stored(db, ADA_NUMBER)
    assert after is not None
    assert (after.balance_cents, after.pin_hash, after.updated_at) == (
        100,
        before.pin_hash,
        before.updated_at,
    )
    assert phones_of(after) == ["+15005550006"]
    assert account_count(db) == 5


def test_a_repeated_row_that_is_also_bad_is_reported_as_a_repeat(import_file: ImportFile) -> None:
    rows = [account_row(pin="12"), account_row(account_number="70000002"), account_row()]
    report = import_file(csv_text(rows))
    assert report.errors == [
        (2, repeated(ADA_NUMBER, "line 4")),
        (4, repeated(ADA_NUMBER, "line 2")),
    ]
    assert report.imported == 1


# --- bad bytes -----------------------------------------------------------------------------


def file_text(data: bytes) -> str:
    """Any bytes as the text that ``encoded`` turns back into them."""
    return data.decode("utf-8", "surrogateescape")


def test_a_latin1_export_lands_its_ascii_rows_and_names_each_other_one(
    import_file: ImportFile, db: Session
) -> None:
    rows = [
        account_row(),
        account_row(account_number="70000002", name="Benito Juárez"),
        account_row(account_number="70000003", name="José"),
        account_row(account_number="70000004"),
    ]
    report = import_file(file_text(csv_text(rows).encode("latin-1")))

    fix = "which is not UTF-8; export the file as UTF-8 CSV"
    assert report.errors == [
        (3, f"name holds the byte 0xE1 (character 10), {fix}"),
        (4, f"name holds the byte 0xE9 (character 4), {fix}"),
    ]
    assert [account.number for account in all_accounts(db)] == ["70000001", "70000004"]


def test_a_nul_byte_in_a_column_the_importer_ignores_still_refuses_its_row(
    import_file: ImportFile, db: Session
) -> None:
    text = (
        "account_number,name,pin,balance,service_zip,notes\n"
        "70000001,Ada,1234,1.00,94105,VIP\n"
        "70000002,Benito,1234,1.00,94105,\x00\n"
        "70000003,Grace,1234,1.00,94105,\n"
    )
    report = import_file(text)

    assert report.errors == [
        (
            3,
            "notes holds a NUL byte (character 1); "
            + "remove it, or export the file again as UTF-8 CSV",
        )
    ]
    assert [account.number for account in all_accounts(db)] == ["70000001", "70000003"]


def test_nul_bytes_on_many_lines_keep_every_line_number(
    import_file: ImportFile, db: Session
) -> None:
    rows = [
        account_row(name="\x00"),  # line 2
        account_row(account_number="70000002", name="Benito\n\x00\nJuárez"),  # lines 3 to 5
        account_row(account_number="70000003"),  # line 6
        account_row(account_number="70000004", pin="1\x00"),  # line 7
        account_row(account_number="70000005", pin="1"),  # line 8
    ]
    report = import_file(csv_text(rows))

    fix = "remove it, or export the file again as UTF-8 CSV"
    assert report.errors == [
        (2, f"name holds a NUL byte (character 1); {fix}"),
        (3, f"name holds a NUL byte (character 8); {fix}"),
        (7, f"pin holds a NUL byte (character 2); {fix}"),
        (8, "pin must be 4 to 8 digits"),
    ]
    assert [account.number for account in all_accounts(db)] == ["70000003"]


def test_a_row_too_long_for_the_csv_module_is_refused_and_the_rest_land(
    import_file: ImportFile, db: Session
) -> None:
    rows = [
        account_row(),
        account_row(account_number="70000002", name="x" * (csv.field_size_limit() + 1)),
        account_row(account_number="70000003"),
    ]
    report = import_file(csv_text(rows))

    assert report.errors == [
        (
            3,
            f"line 3 cannot be read as CSV (field larger than field limit "
            f"({csv.field_size_limit()})); look for a quote that is never closed",
        )
    ]
    assert [account.number for account in all_accounts(db)] == ["70000001", "70000003"]


def test_a_quote_never_closed_names_the_lines_it_swallowed_and_the_rows_after_land(
    import_file: ImportFile, db: Session
) -> None:
    rows = [account_row(account_number=str(70000000 + n)) for n in range(1, 3001)]
    text = csv_text(rows).replace("Ada Lovelace", '"Ada Lovelace', 1)  # on line 2

    report = import_file(text)

    [(line, message)] = report.errors
    swallowed = re.fullmatch(
        r"lines 2 to (\d+) cannot be read as CSV \(field larger than field limit \(\d+\)\); "
        r"look for a quote that is never closed",
        message,
    )
    assert line == 2 and swallowed is not None, message
    last = int(swallowed[1])
    assert 2 < last < 3001
    assert report.imported == 3001 - last  # lines last + 1 to 3001
    assert account_count(db) == report.imported
    assert stored(db, "70003000") is not None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            csv_text([account_row()]).encode("utf-16"),
            "the header holds the byte 0xFF (character 1), which is not UTF-8; "
            "export the file as UTF-8 CSV",
            id="utf-16",
        ),
        pytest.param(
            csv_text([account_row()]).encode("utf-16-le"),
            "the header holds a NUL byte (character 2); "
            "remove it, or export the file again as UTF-8 CSV",
            id="utf-16-without-bom",
        ),
        pytest.param(
            b"account_number,name,pin,balance,\x1bnotes\n70000001,Ada,1234,1.00,\n",
            "the header holds the control character U+001B (character 33); "
            "remove it and import the file again",
            id="escape",
        ),
    ],
)
def test_a_header_with_bad_bytes_is_refused_before_anything_is_written(
    database_url: str, db: Session, tmp_path: Path, data: bytes, message: str
) -> None:
    with pytest.raises(HeaderError) as raised:
        import_accounts(no_database, io.BytesIO(data), DEV)
    assert str(raised.value) == message

    path = tmp_path / "export.csv"
    path.write_bytes(data)
    result = run_ivr(["accounts", "import", str(path)], cli_env(database_url))
    assert result.exit_code == 2
    assert f"Error: {path}: {message}\n" in result.stderr
    assert account_count(db) == 0


def test_the_callers_stream_is_left_open() -> None:
    stream = io.BytesIO(encoded(csv_text([account_row(pin="1")])))
    assert import_accounts(no_database, stream, DEV).errors == [(2, "pin must be 4 to 8 digits")]
    assert not stream.closed


# --- header and line numbers ---------------------------------------------------------------


def no_database() -> Any:
    raise AssertionError("this file must not reach the database")


@pytest.mark.parametrize("column", REQUIRED)
def test_a_missing_required_column_raises_header_error_naming_it(column: str) -> None:
    text = csv_text([account_row()], columns=[c for c in COLUMNS if c != column])
    with pytest.raises(HeaderError) as raised:
        import_accounts(no_database, io.BytesIO(encoded(text)), DEV)
    assert str(raised.value) == (
        f"the header lacks {column}; expected columns: {', '.join(COLUMNS)}"
    )


def test_every_missing_column_is_named_and_nothing_is_written() -> None:
    text = "account_number,name,phone\n70000001,Ada,+15005550006\n"
    with pytest.raises(HeaderError, match=r"^the header lacks pin, balance; expected columns: "):
        import_accounts(no_database, io.BytesIO(encoded(text)), DEV)


def test_an_empty_file_lacks_every_required_column() -> None:
    with pytest.raises(HeaderError, match=r"^the header lacks account_number, name, pin, balance;"):
        import_accounts(no_database, io.BytesIO(b""), DEV)


def test_header_names_ignore_case_spaces_order_and_unknown_columns(
    standalone_factory: sessionmaker[Session], db: Session, settings: Settings
) -> None:
    text = " Balance ,PIN,Name,Account_Number,Notes,SSN_Last4\n142.50,1234,Ada,70000001,VIP,6789\n"
    assert load(standalone_factory, settings, text) == ImportReport(1, [])
    account = stored(db, "70000001")
    assert account is not None
    assert (account.name, account.balance_cents, account.email) == ("Ada", 14250, None)
    assert phones_of(account) == []


def test_short_rows_leave_the_missing_cells_blank(
    standalone_factory: sessionmaker[Session], db: Session, settings: Settings
) -> None:
    text = "account_number,name,pin,balance,service_zip,phone,email\n70000001,Ada,1234,1.00,94105\n"
    assert load(standalone_factory, settings, text) == ImportReport(1, [])
    account = stored(db, "70000001")
    assert account is not None and account.email is None


def test_line_numbers_count_the_lines_inside_quoted_fields() -> None:
    text = csv_text(
        [
            account_row(pin="1"),
            account_row(account_number="70000002", pin="1", name="Benito\nPablo\nJuárez"),
            account_row(account_number="70000003", pin="1"),
        ]
    )
    report = import_accounts(no_database, io.BytesIO(encoded(text)), DEV)
    assert [line for line, _ in report.errors] == [2, 3, 6]


def test_line_numbers_count_blank_lines() -> None:
    text = "account_number,name,pin,balance\n70000001,A,1,1\n\n\n70000002,B,1,1\n"
    report = import_accounts(no_database, io.BytesIO(encoded(text)), DEV)
    assert [line for line, _ in report.errors] == [2, 5]


# --- through the command line --------------------------------------------------------------


def test_quoted_fields_and_a_utf8_bom_file_import_through_the_cli(
    database_url: str, db: Session, tmp_path: Path
) -> None:
    rows = [
        account_row(
            name='Lovelace, Ada "Countess"',
            balance="$1,042.50",
            phone="+15005550006;(415) 555-0123",
        ),
        account_row(account_number="70000002", name="Juárez, Benito", phone=""),
    ]
    path = write_csv(tmp_path / "export.csv", rows, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbfaccount_number,")

    result = run_ivr(["accounts", "import", str(path)], cli_env(database_url))

    assert result.exit_code == 0, result.output
    assert result.stdout == f"Imported 2 accounts from {path}.\n"
    assert result.stderr == ""
    ada = stored(db, "70000001")
    assert ada is not None
    assert (ada.name, ada.balance_cents) == ('Lovelace, Ada "Countess"', 104250)
    assert phones_of(ada) == ["+15005550006", "+14155550123"]
    benito = stored(db, "70000002")
    assert benito is not None and benito.name == "Juárez, Benito"


# --- accounts that could never verify ------------------------------------------------------


def test_a_row_with_neither_zip_nor_ssn_is_rejected_and_the_good_rows_land(
    import_file: ImportFile, db: Session
) -> None:
    rows = [
        account_row(),
        account_row(account_number="70000002", service_zip="", ssn_last4=""),
        account_row(account_number="70000003", service_zip="", ssn_last4="6789"),
    ]
    report = import_file(csv_text(rows))

    assert report.errors == [
        (3, "account 70000002 needs service_zip or ssn_last4: without one, no caller can verify")
    ]
    assert [account.number for account in all_accounts(db)] == ["70000001", "70000003"]


# --- balance_as_of -------------------------------------------------------------------------

EASTERN = "America/New_York"
BEFORE = dt.datetime(2026, 12, 1, 17, 0, tzinfo=dt.UTC)  # the billing system's snapshot
PAID = BEFORE + dt.timedelta(hours=2)  # a payment through the IVR after it


@pytest.mark.parametrize(
    ("raw", "instant"),
    [
        ("2026-12-01T17:00:00Z", BEFORE),
        ("2026-12-01T12:00:00-05:00", BEFORE),
        ("2026-12-01T17:00:00.250+00:00", BEFORE + dt.timedelta(milliseconds=250)),
        ("20261201T170000Z", BEFORE),  # the basic format is ISO 8601 too
        # a date alone is the end of that day where the accounts are: midnight, Eastern
        ("2026-12-01", dt.datetime(2026, 12, 2, 5, 0, tzinfo=dt.UTC)),
        ("2026-07-01", dt.datetime(2026, 7, 2, 4, 0, tzinfo=dt.UTC)),  # summer time
        (" ", None),
    ],
)
def test_balance_as_of_is_an_instant_with_its_offset_or_a_day_that_ended(
    raw: str, instant: dt.datetime | None
) -> None:
    parsed = importer.parse_as_of(raw, EASTERN)
    assert parsed == instant
    assert parsed is None or parsed.tzinfo is dt.UTC


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("2026-12-01T17:00:00", "has no UTC offset; add Z or one like -05:00"),
        ("yesterday", "is not an instant like 2026-12-02T18:00:00Z or a date like 2026-12-02"),
        ("12/01/2026", "is not an instant like 2026-12-02T18:00:00Z or a date like 2026-12-02"),
        ("2999-01-01T00:00:00Z", r"is in the future \(a date means the end of that day\)"),
        (dt.date.today().isoformat(), r"is in the future \(a date means the end of that day\)"),
    ],
)
def test_balance_as_of_that_is_ambiguous_or_to_come_is_refused(raw: str, reason: str) -> None:
    with pytest.raises(RowError, match=rf"^balance_as_of {re.escape(repr(raw))} {reason}$"):
        importer.parse_as_of(raw, EASTERN)


def dated_text(as_of: dt.datetime | str, **overrides: str) -> str:
    """Ada's row as the billing system wrote it at ``as_of``: $300.00 owed, $200.00 due."""
    row = account_row(**{"balance": "300.00", "minimum_due": "200.00", **overrides})
    cell = as_of if isinstance(as_of, str) else as_of.isoformat()
    return csv_text([{**row, "balance_as_of": cell}], (*COLUMNS, "balance_as_of"))


def as_imported(db: Session, number: str = "70000001") -> tuple[int, int, dt.datetime | None]:
    """The account's balance, minimum due and balance_as_of as committed now."""
    db.rollback()
    columns = (Account.balance_cents, Account.minimum_due_cents, Account.balance_as_of)
    row = db.execute(select(*columns).where(Account.number == number)).one()
    return row[0], row[1], row[2]


@pytest.fixture
def paid_175(db: Session, settings: Settings) -> Account:
    """Ada, who paid $175.00 through the IVR at PAID (from $300.00, so $125.00 is left)."""
    ada = add_account(db, settings, balance="125.00", minimum_due="25.00")
    settled_payment(db, ada, 17500, PAID)
    return ada


def test_payments_approved_after_balance_as_of_are_taken_off_the_stale_balance(
    import_file: ImportFile, db: Session, paid_175: Account
) -> None:
    report = import_file(dated_text(BEFORE))

    assert (report.imported, report.errors, report.adjusted) == (1, [], 1)
    assert as_imported(db) == (12500, 2500, BEFORE)


def test_payments_the_balance_already_holds_or_that_were_never_approved_stay_out(
    import_file: ImportFile, db: Session, paid_175: Account
) -> None:
    settled_payment(db, paid_175, 5000, PAID, PaymentStatus.DECLINED)
    report = import_file(dated_text(PAID + dt.timedelta(microseconds=1)))

    assert (report.imported, report.errors, report.adjusted) == (1, [], 0)
    assert as_imported(db)[0] == 30000


def test_a_payment_at_the_very_instant_of_balance_as_of_is_one_the_file_lacks(
    import_file: ImportFile, db: Session, paid_175: Account
) -> None:
    """An export's window leaves out its --until, the instant the next file is as of."""
    assert import_file(dated_text(PAID)).adjusted == 1


def test_a_payment_larger_than_the_minimum_due_leaves_none_due(
    import_file: ImportFile, db: Session, paid_175: Account
) -> None:
    import_file(dated_text(BEFORE, minimum_due="100.00"))
    assert as_imported(db)[:2] == (12500, 0)


def test_a_file_older_than_the_last_import_of_an_account_is_refused_for_it(
    standalone_factory: sessionmaker[Session], db: Session, settings: Settings
) -> None:
    newer = dated_text(PAID, balance="80.00", minimum_due="0")
    assert load(standalone_factory, settings, newer) == ImportReport(1, [], 0, 1)
    rows = [
        {**account_row(), "balance_as_of": BEFORE.isoformat()},
        {**account_row(account_number="70000002"), "balance_as_of": BEFORE.isoformat()},
    ]
    report = load(standalone_factory, settings, csv_text(rows, (*COLUMNS, "balance_as_of")))

    assert report.errors == [
        (
            2,
            "balance_as_of 2026-12-01T17:00:00.000000Z is older than "
            "2026-12-01T19:00:00.000000Z, the last import of account 70000001: its balance "
            "would undo that import and the payments since. Import a newer file, or use --force",
        )
    ]
    assert report.imported == 1  # the other account, new, lands
    assert as_imported(db) == (8000, 0, PAID)


def test_force_imports_an_older_file_and_still_keeps_the_payments_since_it(
    standalone_factory: sessionmaker[Session], db: Session, settings: Settings, paid_175: Account
) -> None:
    later = PAID + dt.timedelta(hours=1)
    load(standalone_factory, settings, dated_text(later, balance="125.00", minimum_due="0"))
    stale = io.BytesIO(dated_text(BEFORE).encode())

    report = import_accounts(lambda: transaction(standalone_factory), stale, settings, force=True)

    assert (report.imported, report.errors, report.adjusted) == (1, [], 1)
    assert as_imported(db) == (12500, 2500, BEFORE)


def test_the_same_file_imported_again_is_not_older_and_is_adjusted_the_same(
    import_file: ImportFile, db: Session, paid_175: Account
) -> None:
    assert import_file(dated_text(BEFORE)).adjusted == 1
    assert import_file(dated_text(BEFORE)) == ImportReport(1, [], 1, 1)
    assert balance(db, paid_175) == 12500


def test_as_of_for_the_whole_file_dates_the_rows_without_their_own(
    standalone_factory: sessionmaker[Session], db: Session, settings: Settings, paid_175: Account
) -> None:
    rows = [
        {**account_row(balance="300.00", minimum_due="0"), "balance_as_of": ""},
        {**account_row(account_number="70000002"), "balance_as_of": PAID.isoformat()},
    ]
    text = csv_text(rows, (*COLUMNS, "balance_as_of")).encode()
    scope = lambda: transaction(standalone_factory)  # noqa: E731

    report = import_accounts(scope, io.BytesIO(text), settings, as_of=BEFORE)

    assert (report.imported, report.adjusted, report.dated) == (2, 1, 2)
    assert balance(db, paid_175) == 12500
    assert as_imported(db, "70000002")[2] == PAID  # its own cell wins


def test_without_balance_as_of_the_balance_is_taken_as_it_is_and_the_as_of_cleared(
    import_file: ImportFile, db: Session, paid_175: Account
) -> None:
    import_file(dated_text(BEFORE))

    report = import_file(csv_text([account_row(balance="300.00", minimum_due="0")]))

    assert report == ImportReport(1, [])
    assert as_imported(db) == (30000, 0, None)


def test_the_command_reports_the_adjusted_accounts_and_takes_as_of_and_force(
    database_url: str, db: Session, paid_175: Account, tmp_path: Path
) -> None:
    env = cli_env(database_url)
    path = tmp_path / "accounts.csv"
    path.write_text(csv_text([account_row(balance="300.00", minimum_due="0")]))

    result = run_ivr(["accounts", "import", "--as-of", "2026-12-01T12:00:00-05:00", str(path)], env)

    assert (result.exit_code, result.stderr) == (0, ""), result.output
    assert result.stdout == (
        f"Imported 1 accounts from {path}.\n"
        "Adjusted 1 account for IVR payments approved after balance_as_of.\n"
    )
    assert balance(db, paid_175) == 12500

    older = ["accounts", "import", "--as-of", "2026-11-30", str(path)]
    refused = run_ivr(older, env)
    assert refused.exit_code == 1
    assert f"{path}:2: balance_as_of 2026-12-01T05:00:00.000000Z is older than" in refused.stderr
    forced = run_ivr([*older[:2], "--force", *older[2:]], env)
    assert (forced.exit_code, forced.stderr) == (0, ""), forced.output
    assert balance(db, paid_175) == 12500


@pytest.mark.parametrize("raw", ["2026-12-01T12:00:00", "soon", "2999-01-01"])
def test_the_command_refuses_an_as_of_it_cannot_place(
    raw: str, database_url: str, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "accounts.csv", [account_row()])
    result = run_ivr(["accounts", "import", "--as-of", raw, str(path)], cli_env(database_url))
    assert result.exit_code == 2
    assert f"Invalid value for '--as-of': {raw!r} " in result.stderr


def test_a_file_of_many_batches_adjusts_and_refuses_in_each_with_its_line(
    standalone_factory: sessionmaker[Session],
    db: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chunks parsed in worker processes carry the file's --as-of, and each batch is held
    against what is stored on its own."""
    monkeypatch.setattr(importer, "BATCH", 2)
    numbers = [f"7000000{n}" for n in range(1, 7)]
    for number in numbers[::3]:  # lines 2 and 5, in the first and second batch
        settled_payment(db, add_account(db, settings, account_number=number), 5000, PAID)
    last = add_account(db, settings, account_number=numbers[-1])
    load(standalone_factory, settings, dated_text(PAID, account_number=last.number))
    rows = [account_row(account_number=number, balance="100.00") for number in numbers]
    progress: list[int] = []

    report = import_accounts(
        lambda: transaction(standalone_factory),
        io.BytesIO(csv_text(rows).encode()),
        settings,
        progress.append,
        as_of=BEFORE,
    )

    assert (report.imported, report.adjusted, report.dated, sum(progress)) == (5, 2, 6, 6)
    assert [line for line, _ in report.errors] == [7]
    balances = [as_imported(db, number)[0] for number in numbers]
    assert balances == [5000, 10000, 10000, 5000, 10000, 30000]  # the last one: refused


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite: one writer
def test_a_payment_settling_while_the_import_runs_is_taken_off_once(
    standalone_factory: sessionmaker[Session], db: Session, settings: Settings
) -> None:
    """The import waits for the account a settling payment holds, then counts the payment:
    neither the file's balance nor the ledger's subtraction is lost."""
    ada = add_account(db, settings, balance="300.00", minimum_due="0")
    new = ledger.NewPayment(ada.id, 17500, 0, "race", "voice", None, "sandbox", "visa", "4242")
    with transaction(standalone_factory) as session:
        payment_id = ledger.begin(session, new, allow_overpayment=False, declines=None).id
    as_of = utcnow()
    settling = standalone_factory()
    ledger.settle(settling, payment_id, ChargeResult(ChargeStatus.APPROVED, "ref"), wipe=False)
    settling.flush()  # the account row is now locked until this commits
    reports: list[ImportReport] = []
    stale = io.BytesIO(dated_text(as_of, minimum_due="0").encode())
    importing = threading.Thread(
        target=lambda: reports.append(
            import_accounts(lambda: transaction(standalone_factory), stale, settings)
        )
    )
    importing.start()
    waiting = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    while importing.is_alive() and not db.scalar(waiting):
        db.rollback()
        time.sleep(0.01)
    assert importing.is_alive(), "the import did not wait for the settling payment"
    settling.commit()
    settling.close()
    importing.join()

    assert [(report.imported, report.adjusted) for report in reports] == [(1, 1)]
    assert as_imported(db)[0] == 12500
