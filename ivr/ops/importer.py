"""Loading accounts from the billing system's CSV export.

Rows are validated one by one (a bad row is reported by its line number and skipped) and
written in batches with one upsert per batch, keyed by account number, so a 100k-row file
loads in seconds on SQLite and PostgreSQL alike.

Whatever its bytes, a file is read to its end: bytes that are not UTF-8, NUL bytes and other
control characters make a bad row (in the header, a refused file), never a half-done import.
An account number that more than one row carries is ambiguous (which PIN and balance are
right?), so the file is read twice: first for those repeats, whose rows are all refused, then
to import.

A balance is true as of an instant (the optional ``balance_as_of`` column, or ``--as-of`` for a
whole file). Payments the IVR approved since then are ones the file cannot show yet, so they
are taken off what it says (:func:`ivr.ops.export.owed_since` names them: the same payments
``ivr payments export`` hands over). A row older than the last import of its account is
refused, unless forced: it would undo what the newer one said.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import os
import re
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from typing import IO, Any, NamedTuple
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from sqlalchemy import Table, delete, insert, or_, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.models import Account, AccountPhone, AccountStatus, Base, utcnow
from ivr.ops.export import owed_since, utc_text
from payments.policy import WrittenAmountError, parse_written_amount
from verification import keyed_hash, normalize_phone

COLUMNS = (
    "account_number",
    "name",
    "phone",
    "email",
    "service_zip",
    "ssn_last4",
    "pin",
    "balance",
    "minimum_due",
    "due_date",
    "status",
    "language",
)
REQUIRED = ("account_number", "name", "pin", "balance")
AS_OF = "balance_as_of"  # optional: when the row's balance was true (see parse_as_of)
BATCH = 10_000  # rows per chunk and per transaction: fewer, larger set-based statements
PARSE_AHEAD = 4  # chunks parsed ahead of the writer: bounded memory on million-row files
_LANGUAGES = {"en": "en-US", "en-us": "en-US", "english": "en-US"} | {
    "es": "es-US",
    "es-us": "es-US",
    "spanish": "es-US",
    "español": "es-US",
}
# Control characters but tab and line breaks, and the surrogate escapes (U+DC80 to U+DCFF)
# that stand for the bytes a file holds that are not UTF-8
_BAD_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\udc80-\udcff]")
_ESCAPED = 0xDC00  # a surrogate escape minus the byte it stands for
SHOWN_REPEATS = 5  # other lines named for an account number that a file repeats


class RowError(ValueError):
    """A row that cannot be imported; the message says which field and why."""


class HeaderError(ValueError):
    """The file's header lacks required columns."""


@dataclass
class ImportReport:
    """What an import did. ``dated`` rows had a balance_as_of; of those, ``adjusted`` had
    IVR payments approved since taken off their balance."""

    imported: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    adjusted: int = 0
    dated: int = 0


FIELDS = (
    "number",
    "name",
    "email",
    "service_zip",
    "ssn_last4_hash",
    "pin_hash",
    "balance_cents",
    "minimum_due_cents",
    "due_date",
    "status",
    "language",
    "time_zone",
    "balance_as_of",
)
_BALANCE, _MINIMUM, _AS_OF = (
    FIELDS.index(name) for name in ("balance_cents", "minimum_due_cents", AS_OF)
)


Record = tuple[tuple[Any, ...], tuple[str, ...]]  # an AccountRecord as a plain pair


class AccountRecord(NamedTuple):
    """One validated row, ready to write: secrets already hashed, money in cents.

    ``row`` holds the account's columns in ``FIELDS`` order as the database stores them (the
    status as its value), ready for COPY without conversion. Worker processes send records
    back as plain ``(row, phones)`` pairs (``Record``), which pickle in C.
    """

    row: tuple[Any, ...]
    phones: tuple[str, ...]

    @property
    def number(self) -> str:
        return str(self.row[0])

    @property
    def values(self) -> dict[str, Any]:
        return dict(zip(FIELDS, self.row, strict=True))


def parse_cents(raw: str, column: str) -> int:
    """The written amount in ``column``'s cell, in cents (see ``parse_written_amount``)."""
    try:
        return parse_written_amount(raw)
    except WrittenAmountError as error:
        raise RowError(f"{column} {raw!r} {error}") from None


def parse_due_date(raw: str) -> dt.date | None:
    """ISO dates (the common case, parsed in C) or US month/day/year."""
    text = raw.strip()
    if not text:
        return None
    try:
        if len(text) == 10 and text[4] == "-":
            return dt.date.fromisoformat(text)
        return dt.datetime.strptime(text, "%m/%d/%Y").date()
    except ValueError:
        raise RowError(f"due_date {raw!r} is not a date like 2026-12-19") from None


def parse_as_of(raw: str, zone: str, name: str = AS_OF) -> dt.datetime | None:
    """The instant a balance was true at, in UTC. An ISO 8601 instant needs its UTC offset
    (``Z`` or ``-05:00``): a bare time is ambiguous. A date alone means the end of that day in
    ``zone`` (the accounts' time zone), as a billing system's "balance as of December 2"
    counts the whole day; so a day that has not ended yet is refused, like any instant to
    come: no balance can show payments not yet made."""
    text = raw.strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text) + dt.timedelta(days=1)
            moment = dt.datetime.combine(day, dt.time(), ZoneInfo(zone))
        else:
            moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise RowError(
            f"{name} {raw!r} is not an instant like 2026-12-02T18:00:00Z or a date like 2026-12-02"
        ) from None
    if moment.tzinfo is None:
        raise RowError(f"{name} {raw!r} has no UTC offset; add Z or one like -05:00")
    if moment > utcnow():
        raise RowError(f"{name} {raw!r} is in the future (a date means the end of that day)")
    return moment.astimezone(dt.UTC)


def _digits(raw: str, column: str, sizes: tuple[int, int], *, required: bool) -> str | None:
    text = raw.strip()
    if not text and not required:
        return None
    low, high = sizes
    if not (text.isascii() and text.isdigit() and low <= len(text) <= high):
        size = str(low) if low == high else f"{low} to {high}"
        raise RowError(f"{column} must be {size} digits")
    return text


def _bad_text(column: str, raw: str) -> str | None:
    """Why ``raw`` is refused, if it holds a NUL byte, a byte that is not UTF-8, or a control
    character other than tab and line breaks: they come from a corrupt or mis-encoded export,
    and would otherwise be stored as they are."""
    bad = _BAD_CHARACTER.search(raw)
    if bad is None:
        return None
    char, where = bad.group(), f"(character {bad.start() + 1})"
    if char == "\x00":
        return (
            f"{column} holds a NUL byte {where}; remove it, or export the file again as UTF-8 CSV"
        )
    if ord(char) > _ESCAPED:
        byte = ord(char) - _ESCAPED
        return (
            f"{column} holds the byte 0x{byte:02X} {where}, which is not UTF-8; "
            "export the file as UTF-8 CSV"
        )
    return (
        f"{column} holds the control character U+{ord(char):04X} {where}; "
        "remove it and import the file again"
    )


def _amounts(cell: dict[str, str]) -> tuple[int, int]:
    """The balance and minimum due in cents. A minimum due is what the caller must pay by the
    due date: never below zero, never more than is owed (nothing is owed on a credit)."""
    balance = parse_cents(cell["balance"], "balance")
    minimum = parse_cents(cell["minimum_due"] or "0", "minimum_due")
    if minimum < 0:
        raise RowError(
            f"minimum_due {cell['minimum_due']!r} is below zero; write 0 when nothing is due"
        )
    if minimum > max(balance, 0):
        raise RowError(
            f"minimum_due {cell['minimum_due']!r} is more than the balance "
            f"{cell['balance']!r}; it can be at most the balance"
        )
    return balance, minimum


def parse_row(
    row: dict[str, str], settings: Settings, as_of: dt.datetime | None = None
) -> AccountRecord:
    """Validate and convert one CSV row (blank optional cells are fine); ``as_of`` is the
    balance_as_of of a row whose own cell is blank."""
    if _BAD_CHARACTER.search("".join(row.values())):  # one search for the common case
        for column, raw in row.items():
            if problem := _bad_text(column, raw):
                raise RowError(problem)
    cell = {column: (row.get(column) or "").strip() for column in COLUMNS}
    for column in REQUIRED:
        if not cell[column]:
            raise RowError(f"{column} is empty")
    number = _digits(cell["account_number"], "account_number", (4, 16), required=True)
    assert number is not None
    pin = _digits(cell["pin"], "pin", (4, 8), required=True)
    ssn4 = _digits(cell["ssn_last4"], "ssn_last4", (4, 4), required=False)
    zip_code = _digits(cell["service_zip"].split("-")[0], "service_zip", (5, 5), required=False)
    if zip_code is None and ssn4 is None:
        raise RowError(
            f"account {number} needs service_zip or ssn_last4: without one, no caller can verify"
        )
    phones = []
    for raw in filter(None, (part.strip() for part in re.split(r"[;|]", cell["phone"]))):
        e164 = normalize_phone(raw, settings.DEFAULT_REGION)
        if e164 is None:
            raise RowError(f"phone {raw!r} is not a valid phone number")
        phones.append(e164)
    if cell["email"] and ("@" not in cell["email"] or len(cell["email"]) > 320):
        raise RowError(f"email {cell['email'][:60]!r} is not an email address")
    status = (cell["status"] or "active").lower().replace(" ", "_").replace("-", "_")
    if status not in AccountStatus._value2member_map_:
        allowed = ", ".join(s.value for s in AccountStatus)
        raise RowError(f"status {cell['status']!r} is not one of: {allowed}")
    language = _LANGUAGES.get((cell["language"] or "en-US").lower())
    if language is None:
        raise RowError(f"language {cell['language']!r} is not en-US or es-US")
    balance, minimum = _amounts(cell)
    dated = parse_as_of(row.get(AS_OF) or "", settings.DEFAULT_TIME_ZONE) or as_of
    pepper = settings.PIN_PEPPER
    columns = (  # in FIELDS order
        number,
        cell["name"][:200],
        cell["email"] or None,
        zip_code,
        keyed_hash(pepper, "ssn4", number, ssn4) if ssn4 else None,
        keyed_hash(pepper, "pin", number, str(pin)),
        balance,
        minimum,
        parse_due_date(cell["due_date"]),
        status,
        language,
        settings.DEFAULT_TIME_ZONE,
        dated,
    )
    return AccountRecord(columns, tuple(dict.fromkeys(phones)))


def write_batch(session: Session, records: Iterable[Record]) -> int:
    """Upsert ``records`` by account number and replace their phones; returns rows written.

    Their account numbers must differ (``import_accounts`` refuses every row of a number
    that a file repeats). An account whose columns all match what is stored is left as it is
    (``updated_at`` then still says when it last changed). On PostgreSQL so are its phones
    when the list is the same; SQLite, the small embedded default, rewrites every row's phones.
    """
    batch = list(records)
    if not batch:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        _write_postgresql(session, batch)
    else:
        _write_sqlite(session, batch)
    return len(batch)


def _naive_utcnow() -> dt.datetime:
    """Now, as ``UTCDateTime`` columns store it."""
    return utcnow().astimezone(dt.UTC).replace(tzinfo=None)


def _table(model: type[Base]) -> Table:
    """``model``'s table, for Core statements (a mapped class types it only as a selectable)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


@cache
def _sqlite_upsert() -> sqlite.Insert:
    """One reusable ``INSERT ... ON CONFLICT (number) DO UPDATE`` for executemany: SQLAlchemy
    compiles it once and batches the rows, instead of building a giant statement per batch."""
    table = _table(Account)
    upsert = sqlite.insert(table)
    changed = [table.c[name].is_distinct_from(upsert.excluded[name]) for name in FIELDS[1:]]
    return upsert.on_conflict_do_update(
        index_elements=[table.c.number],
        set_={name: upsert.excluded[name] for name in (*FIELDS[1:], "updated_at")},
        where=or_(*changed),
    )


def _write_sqlite(session: Session, records: Collection[Record]) -> None:
    now = utcnow()
    rows = [
        {**dict(zip(FIELDS, row, strict=True)), "created_at": now, "updated_at": now}
        for row, _ in records
    ]
    session.execute(_sqlite_upsert(), rows)
    accounts, phones = _table(Account), _table(AccountPhone)
    numbers = [row[0] for row, _ in records]
    query = select(accounts.c.number, accounts.c.id).where(accounts.c.number.in_(numbers))
    ids = dict(session.execute(query).all())
    session.execute(delete(phones).where(phones.c.account_id.in_(list(ids.values()))))
    new_phones = [
        {"account_id": ids[row[0]], "e164": e164}
        for row, account_phones in records
        for e164 in account_phones
    ]
    if new_phones:
        session.execute(insert(phones), new_phones)


@dataclass(frozen=True)
class _PostgresStatements:
    create: sql.Composed
    copy: sql.Composed
    upsert: sql.Composed
    phones: sql.SQL  # two statements in one round trip


@cache
def _postgres_statements() -> _PostgresStatements:
    """The batch's statements: a temporary table that COPY fills with the accounts (each with
    its phones as an array), then set-based SQL from it into the real tables."""
    names = sql.SQL(", ").join(map(sql.Identifier, FIELDS))
    staged = sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(n)) for n in FIELDS)
    stored = sql.SQL(", ").join(sql.SQL("a.{}").format(sql.Identifier(n)) for n in FIELDS[1:])
    updates = sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(name))
        for name in (*FIELDS[1:], "updated_at")
    )
    excluded = sql.SQL(", ").join(
        sql.SQL("EXCLUDED.{}").format(sql.Identifier(name)) for name in FIELDS[1:]
    )
    return _PostgresStatements(
        create=sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS accounts_import ON COMMIT DELETE ROWS AS "
            "SELECT {}, NULL::text[] AS phones FROM accounts WITH NO DATA"
        ).format(names),
        copy=sql.SQL("COPY accounts_import ({}, phones) FROM STDIN").format(names),
        upsert=sql.SQL(
            "INSERT INTO accounts AS a ({0}, created_at, updated_at) "
            "SELECT {1}, %(now)s, %(now)s FROM accounts_import s "
            "ON CONFLICT (number) DO UPDATE SET {2} WHERE ({3}) IS DISTINCT FROM ({4})"
        ).format(names, staged, updates, stored, excluded),
        phones=sql.SQL(
            "DELETE FROM account_phones WHERE account_id IN ("
            " SELECT a.id FROM accounts_import s JOIN accounts a ON a.number = s.number"
            " WHERE ARRAY(SELECT p.e164::text FROM account_phones p"
            "  WHERE p.account_id = a.id ORDER BY p.id) <> s.phones); "
            "INSERT INTO account_phones (account_id, e164) "
            "SELECT a.id, phone.e164 FROM accounts_import s "
            "JOIN accounts a ON a.number = s.number "
            "CROSS JOIN LATERAL unnest(s.phones) WITH ORDINALITY AS phone (e164, position) "
            "WHERE NOT EXISTS (SELECT FROM account_phones p WHERE p.account_id = a.id) "
            "ORDER BY a.id, phone.position"
        ),
    )


def _write_postgresql(session: Session, records: Collection[Record]) -> None:
    """PostgreSQL: COPY the batch into a temporary table, then one ``INSERT ... ON CONFLICT``
    for the accounts and two statements for their phones (drop the lists that changed, add
    the phones of accounts left without). COPY moves rows several times faster than
    executemany, and nothing is sent per row but the COPY data."""
    statements = _postgres_statements()
    raw = session.connection().connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    with raw.cursor() as cursor:
        cursor.execute(statements.create)
        with cursor.copy(statements.copy) as copy:
            for row, phones in records:
                copy.write_row((*row, list(phones)))
        cursor.execute(statements.upsert, {"now": _naive_utcnow()})
        cursor.execute(statements.phones)


Line = tuple[int, list[str]]  # a row's cells, with the file line it starts on
Problem = tuple[int, str]  # a refused row's line, and why


def _header(reader: Any) -> list[str]:
    cells: list[str] = next(reader, [])
    if problem := _bad_text("the header", ",".join(cells)):
        raise HeaderError(problem)
    header = [name.strip().lower() for name in cells]
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise HeaderError(
            f"the header lacks {', '.join(missing)}; expected columns: {', '.join(COLUMNS)}"
        )
    return header


def _unreadable(start: int, end: int, error: csv.Error) -> str:
    lines = f"line {start}" if start == end else f"lines {start} to {end}"
    return f"{lines} cannot be read as CSV ({error}); look for a quote that is never closed"


def _lines(reader: Any) -> Iterator[tuple[int, list[str], str | None]]:
    """Each row's cells with the line it starts on (blank lines are skipped but counted), or
    no cells and why the csv module could not read the row."""
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # e.g. a cell past the field size limit
            yield start, [], _unreadable(start, reader.line_num, error)
        else:
            if cells:
                yield start, cells, None
        start = reader.line_num + 1


def _number_column(header: list[str]) -> int:
    """Where a row's account number is (the last such column, as in ``parse_row``'s dict)."""
    return {name: index for index, name in enumerate(header)}["account_number"]


def _number(cells: list[str], column: int) -> str:
    return cells[column].strip() if column < len(cells) else ""


def _repeats(text: IO[str]) -> dict[str, list[int]]:
    """The account numbers that more than one row carries, each with the lines of its rows.
    Every row counts, however bad otherwise: any of them may be the one the operator meant."""
    reader = csv.reader(text)
    column = _number_column(_header(reader))
    first: dict[str, int] = {}
    repeats: dict[str, list[int]] = {}
    for line, cells, _ in _lines(reader):
        number = _number(cells, column)
        if number and first.setdefault(number, line) != line:
            repeats.setdefault(number, [first[number]]).append(line)
    return repeats


def _repeated(number: str, line: int, lines: list[int]) -> str:
    others = [other for other in lines if other != line]
    named = ", ".join(map(str, others[:SHOWN_REPEATS]))
    if len(others) > SHOWN_REPEATS:
        named += f" and {len(others) - SHOWN_REPEATS} more"
    return (
        f"account_number {number!r} is also on line{'s' if len(others) > 1 else ''} {named}; "
        "none of its rows was imported: keep one and import the file again"
    )


@dataclass
class ParsedChunk:
    records: list[Record]
    errors: list[Problem]
    rows: int
    lines: list[int] = field(default_factory=list)  # each record's line


def parse_chunk(
    header: list[str],
    chunk: list[Line],
    refused: list[Problem],
    settings: Settings,
    as_of: dt.datetime | None = None,
) -> ParsedChunk:
    """Validate a chunk of rows (runs in a worker process for large files), and report them
    in file order with the rows ``refused`` before parsing. Rows travel as lists of cells and
    come back as plain tuples: both pickle in C."""
    parsed = ParsedChunk([], list(refused), len(chunk) + len(refused))
    for line, cells in chunk:
        try:
            row, phones = parse_row(dict(zip(header, cells, strict=False)), settings, as_of)
        except RowError as error:
            parsed.errors.append((line, str(error)))
        else:
            parsed.records.append((row, phones))
            parsed.lines.append(line)
    if refused:
        parsed.errors.sort()
    return parsed


def _chunks(
    lines: Iterator[tuple[int, list[str], str | None]], repeats: dict[str, list[int]], column: int
) -> Iterator[tuple[list[Line], list[Problem]]]:
    """Rows to parse in chunks of ``BATCH`` rows read, each with the rows refused among them:
    unreadable ones, and those whose account number (in ``column``) is in ``repeats``."""
    chunk: list[Line] = []
    refused: list[Problem] = []
    for line, cells, problem in lines:
        number = _number(cells, column) if repeats else ""
        if number in repeats:
            problem = _repeated(number, line, repeats[number])
        if problem is None:
            chunk.append((line, cells))
        else:
            refused.append((line, problem))
        if len(chunk) + len(refused) >= BATCH:
            yield chunk, refused
            chunk, refused = [], []
    if chunk or refused:
        yield chunk, refused


def _parsed(text: IO[str], settings: Settings, as_of: dt.datetime | None) -> Iterator[ParsedChunk]:
    """Parsed chunks in file order. A file of more than one chunk is parsed in worker
    processes, so validation (phone numbers, keyed hashes) overlaps with the database
    writes."""
    repeats = _repeats(text)
    text.seek(0)
    reader = csv.reader(text)
    header = _header(reader)
    chunks = _chunks(_lines(reader), repeats, _number_column(header))
    first, second = next(chunks, None), next(chunks, None)
    if first is None:
        return
    if second is None:  # one chunk: not worth starting processes
        yield parse_chunk(header, *first, settings, as_of)
        return
    window: deque[Future[ParsedChunk]] = deque()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for chunk in itertools.chain((first, second), chunks):
            window.append(pool.submit(parse_chunk, header, *chunk, settings, as_of))
            if len(window) >= PARSE_AHEAD:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


@dataclass
class _Dated:
    """A chunk's records once held against what is stored: stale rows refused, the others'
    balances lowered by the payments approved since their balance_as_of."""

    records: list[Record]
    refused: list[Problem]
    adjusted: int
    dated: int


def _stale(line: int, number: str, as_of: dt.datetime, last: dt.datetime) -> Problem:
    return (
        line,
        f"balance_as_of {utc_text(as_of)} is older than {utc_text(last)}, the last import of "
        f"account {number}: its balance would undo that import and the payments since. Import "
        "a newer file, or use --force",
    )


def _held_against_stored(session: Session, parsed: ParsedChunk, *, force: bool) -> _Dated:
    """Refuse the rows older than their account's last import (unless ``force``), and take
    the payments approved since a row's balance_as_of off its balance and minimum due.

    The chunk's accounts are locked first (PostgreSQL; SQLite's write lock covers them): a
    payment that settles meanwhile either committed before, and is counted here, or waits and
    then takes itself off the imported balance. Either way it is counted once."""
    numbers = [row[0] for row, _ in parsed.records if row[_AS_OF] is not None]
    if not numbers:
        return _Dated(parsed.records, [], 0, 0)
    query = (
        select(Account.number, Account.id, Account.balance_as_of)
        .where(Account.number.in_(numbers))
        .order_by(Account.id)
        .with_for_update()
    )
    stored = {number: (id_, last) for number, id_, last in session.execute(query)}
    kept: list[tuple[Record, int | None]] = []  # with the stored account of a dated row
    refused: list[Problem] = []
    as_of: dict[int, dt.datetime] = {}
    for line, (row, phones) in zip(parsed.lines, parsed.records, strict=True):
        account_id, last = stored.get(row[0], (None, None)) if row[_AS_OF] else (None, None)
        if last is not None and row[_AS_OF] < last and not force:
            refused.append(_stale(line, row[0], row[_AS_OF], last))
            continue
        if account_id is not None:
            as_of[account_id] = row[_AS_OF]
        kept.append(((row, phones), account_id))
    owed = _owed(session, as_of)
    records = [
        (_lowered(row, owed[account_id]), phones) if account_id in owed else (row, phones)
        for (row, phones), account_id in kept
    ]
    return _Dated(records, refused, len(owed), len(numbers))


def _owed(session: Session, as_of: dict[int, dt.datetime]) -> dict[int, int]:
    """Each account's payments approved at or after its own balance_as_of, in cents."""
    owed: dict[int, int] = {}
    if not as_of:
        return owed
    for account_id, approved, cents in owed_since(session, min(as_of.values()), as_of):
        if approved >= as_of[account_id]:
            owed[account_id] = owed.get(account_id, 0) + cents
    return owed


def _lowered(row: tuple[Any, ...], cents: int) -> tuple[Any, ...]:
    """``row`` with ``cents`` already paid: off the balance, and off the minimum due down to
    zero, as an approved payment lowers them (``payments.ledger.take_off_balance``)."""
    cells = list(row)
    cells[_BALANCE] -= cents
    cells[_MINIMUM] = max(cells[_MINIMUM] - cents, 0)
    return tuple(cells)


def import_accounts(
    session_scope: Callable[[], Any],
    stream: IO[bytes],
    settings: Settings,
    progress: Callable[[int], None] = lambda _rows: None,
    *,
    as_of: dt.datetime | None = None,
    force: bool = False,
) -> ImportReport:
    """Import every good row of ``stream``, a seekable binary file of UTF-8 CSV (read twice);
    each batch commits on its own, so a failure late in a huge file keeps what was already
    loaded. Raises ``HeaderError`` before writing anything when the header is unusable.

    ``as_of`` is the balance_as_of of rows without one of their own (none: their balances are
    taken as they are, as before the column existed); ``force`` imports rows older than their
    account's last import."""
    report = ImportReport()
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    try:
        for parsed in _parsed(text, settings, as_of):
            refused: list[Problem] = []
            if parsed.records:  # a chunk of bad rows needs no transaction
                with session_scope() as session:
                    dated = _held_against_stored(session, parsed, force=force)
                    report.imported += write_batch(session, dated.records)
                refused = dated.refused
                report.adjusted += dated.adjusted
                report.dated += dated.dated
            report.errors += sorted(parsed.errors + refused) if refused else parsed.errors
            progress(parsed.rows)
    finally:
        text.detach()  # the caller's stream stays open
    return report
