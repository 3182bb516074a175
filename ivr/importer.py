"""Loading accounts from the billing system's CSV export.

Rows are validated one by one (a bad row is reported by its line number and skipped) and
written in batches with one upsert per batch, keyed by account number, so a 100k-row file
loads in seconds on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from psycopg import sql
from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.models import Account, AccountPhone, AccountStatus, utcnow
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
BATCH = 2000
PARSE_AHEAD = 4  # chunks parsed ahead of the writer: bounded memory on million-row files
_LANGUAGES = {"en": "en-US", "en-us": "en-US", "english": "en-US"} | {
    "es": "es-US",
    "es-us": "es-US",
    "spanish": "es-US",
    "español": "es-US",
}
_MONEY = re.compile(r"-?\$?-?[\d,]*\.?\d{0,2}")


class RowError(ValueError):
    """A row that cannot be imported; the message says which field and why."""


class HeaderError(ValueError):
    """The file's header lacks required columns."""


@dataclass
class ImportReport:
    imported: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class AccountRecord:
    """One validated row, ready to write: secrets already hashed, money in cents."""

    values: dict[str, Any]
    phones: tuple[str, ...]


MAX_CENTS = 10**13  # $100 billion: anything larger is a corrupt export, not a bill


def parse_cents(raw: str, column: str) -> int:
    text = raw.strip()
    if not text or not _MONEY.fullmatch(text) or text.count("-") > 1:
        raise RowError(f"{column} {raw!r} is not an amount like 142.50")
    negative = text.count("-") == 1
    try:
        amount = Decimal(text.replace("$", "").replace(",", "").replace("-", ""))
    except InvalidOperation:
        raise RowError(f"{column} {raw!r} is not an amount like 142.50") from None
    cents = int(amount * 100)
    if cents > MAX_CENTS:
        raise RowError(f"{column} {raw!r} is larger than any bill")
    return -cents if negative else cents


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


def _digits(raw: str, column: str, sizes: tuple[int, int], *, required: bool) -> str | None:
    text = raw.strip()
    if not text and not required:
        return None
    low, high = sizes
    if not (text.isascii() and text.isdigit() and low <= len(text) <= high):
        size = str(low) if low == high else f"{low} to {high}"
        raise RowError(f"{column} must be {size} digits")
    return text


def parse_row(row: dict[str, str], settings: Settings) -> AccountRecord:
    """Validate and convert one CSV row (blank optional cells are fine)."""
    cell = {column: (row.get(column) or "").strip() for column in COLUMNS}
    for column in REQUIRED:
        if not cell[column]:
            raise RowError(f"{column} is empty")
    number = _digits(cell["account_number"], "account_number", (4, 16), required=True)
    assert number is not None
    pin = _digits(cell["pin"], "pin", (4, 8), required=True)
    ssn4 = _digits(cell["ssn_last4"], "ssn_last4", (4, 4), required=False)
    zip_code = _digits(cell["service_zip"].split("-")[0], "service_zip", (5, 5), required=False)
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
    pepper = settings.PIN_PEPPER
    return AccountRecord(
        values={
            "number": number,
            "name": cell["name"][:200],
            "email": cell["email"] or None,
            "service_zip": zip_code,
            "ssn_last4_hash": keyed_hash(pepper, "ssn4", number, ssn4) if ssn4 else None,
            "pin_hash": keyed_hash(pepper, "pin", number, str(pin)),
            "balance_cents": parse_cents(cell["balance"], "balance"),
            "minimum_due_cents": parse_cents(cell["minimum_due"] or "0", "minimum_due"),
            "due_date": parse_due_date(cell["due_date"]),
            "status": AccountStatus(status),
            "language": language,
            "time_zone": settings.DEFAULT_TIME_ZONE,
        },
        phones=tuple(dict.fromkeys(phones)),
    )


def _sqlite_upsert() -> Any:
    """One reusable ``INSERT ... ON CONFLICT (number) DO UPDATE`` for executemany: SQLAlchemy
    compiles it once and batches the rows, instead of building a giant statement per batch."""
    table = Account.__table__
    upsert = sqlite.insert(table)
    kept = {"id", "number", "created_at"}
    return upsert.on_conflict_do_update(
        index_elements=[table.c.number],
        set_={c.name: upsert.excluded[c.name] for c in table.c if c.name not in kept},
    )


def write_batch(session: Session, records: Iterable[AccountRecord]) -> int:
    """Upsert ``records`` by account number and replace their phones; returns rows written."""
    latest = {record.values["number"]: record for record in records}  # last row wins
    if not latest:
        return 0
    now = utcnow()
    rows = [{**r.values, "created_at": now, "updated_at": now} for r in latest.values()]
    if session.get_bind().dialect.name == "postgresql":
        ids = _upsert_postgresql(session, rows)
    else:
        ids = _upsert_sqlite(session, rows)
    phones = AccountPhone.__table__
    session.execute(delete(phones).where(phones.c.account_id.in_(list(ids.values()))))
    new_phones = [
        {"account_id": ids[number], "e164": e164}
        for number, record in latest.items()
        for e164 in record.phones
    ]
    if new_phones:
        session.execute(insert(phones), new_phones)
    return len(rows)


def _upsert_sqlite(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    session.execute(_sqlite_upsert(), rows)
    accounts = Account.__table__
    numbers = [row["number"] for row in rows]
    query = select(accounts.c.number, accounts.c.id).where(accounts.c.number.in_(numbers))
    return dict(session.execute(query).all())


def _upsert_postgresql(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """PostgreSQL: COPY the batch into a temporary table, then one ``INSERT ... SELECT ... ON
    CONFLICT`` upsert. COPY moves rows several times faster than executemany."""
    accounts = Account.__table__
    columns = [column for column in accounts.c if column.name != "id"]
    dialect = session.get_bind().dialect
    converters = [(c.name, c.type.bind_processor(dialect) or _unchanged) for c in columns]
    names = sql.SQL(", ").join(sql.Identifier(c.name) for c in columns)
    updates = sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c.name))
        for c in columns
        if c.name not in {"number", "created_at"}
    )
    table, staging = sql.Identifier(accounts.name), sql.Identifier("accounts_import")
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "CREATE TEMP TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS "
                "AS SELECT {} FROM {} WITH NO DATA"
            ).format(staging, names, table)
        )
        with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(staging, names)) as copy:
            for row in rows:
                copy.write_row([convert(row[name]) for name, convert in converters])
        cursor.execute(
            sql.SQL(
                "INSERT INTO {0} ({1}) SELECT {1} FROM {2} "
                "ON CONFLICT (number) DO UPDATE SET {3} RETURNING number, id"
            ).format(table, names, staging, updates)
        )
        return dict(cursor.fetchall())


def _unchanged(value: Any) -> Any:
    return value


def read_rows(stream: IO[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows with the file line number each starts on (the header is line 1; blank lines are
    skipped but still counted, and a quoted field may span lines)."""
    reader = csv.reader(stream)
    header = [name.strip().lower() for name in next(reader, [])]
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise HeaderError(
            f"the header lacks {', '.join(missing)}; expected columns: {', '.join(COLUMNS)}"
        )
    start = reader.line_num + 1
    for cells in reader:
        if cells:
            yield start, dict(zip(header, cells, strict=False))
        start = reader.line_num + 1


@dataclass
class ParsedChunk:
    records: list[AccountRecord]
    errors: list[tuple[int, str]]
    rows: int


def parse_chunk(chunk: list[tuple[int, dict[str, str]]], settings: Settings) -> ParsedChunk:
    """Validate a chunk of rows (runs in a worker process for large files)."""
    parsed = ParsedChunk([], [], len(chunk))
    for line, row in chunk:
        try:
            parsed.records.append(parse_row(row, settings))
        except RowError as error:
            parsed.errors.append((line, str(error)))
    return parsed


def _chunks(stream: IO[str]) -> Iterator[list[tuple[int, dict[str, str]]]]:
    chunk: list[tuple[int, dict[str, str]]] = []
    for item in read_rows(stream):
        chunk.append(item)
        if len(chunk) >= BATCH:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _parsed(stream: IO[str], settings: Settings) -> Iterator[ParsedChunk]:
    """Parsed chunks in file order. After the first chunk, parsing moves to worker processes,
    so validation (phone numbers, keyed hashes) overlaps with the database writes."""
    chunks = _chunks(stream)
    first = next(chunks, None)
    if first is None:
        return
    yield parse_chunk(first, settings)
    window: deque[Future[ParsedChunk]] = deque()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for chunk in chunks:
            window.append(pool.submit(parse_chunk, chunk, settings))
            if len(window) >= PARSE_AHEAD:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()


def import_accounts(
    session_scope: Callable[[], Any],
    stream: IO[str],
    settings: Settings,
    progress: Callable[[int], None] = lambda _rows: None,
) -> ImportReport:
    """Import every good row of ``stream``; each batch commits on its own, so a failure late in
    a huge file keeps what was already loaded."""
    report = ImportReport()
    for parsed in _parsed(stream, settings):
        report.errors += parsed.errors
        with session_scope() as session:
            report.imported += write_batch(session, parsed.records)
        progress(parsed.rows)
    return report
