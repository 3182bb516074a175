"""Assistance programs: who can help a customer pay, read from a CSV the billing team keeps.

A CSV because it is what a billing team already edits (any spreadsheet saves one) and it needs
no restart: the file is read on each request, so an edit takes effect on the next call. Columns
``name, phone, url`` with a header row; ``url`` may be empty. The file is checked at start-up
(and by ``ivr assistance list``), and a file broken later is reported, never read half.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

COLUMNS = ("name", "phone", "url")
PHONE_DIGITS = (10, 11)


class ProgramsError(ValueError):
    """The programs file cannot be used; the message names the file, line and problem."""


@dataclass(frozen=True)
class Program:
    name: str
    phone: str
    """Digits only: 10, or 11 starting with 1."""
    url: str = ""


def parse(text: str, source: str) -> tuple[Program, ...]:
    """Every program in ``text``, or :class:`ProgramsError` for the first bad line."""
    rows = csv.reader(io.StringIO(text))
    header = tuple(cell.strip().lower() for cell in next(rows, []))
    if header != COLUMNS:
        raise ProgramsError(f"{source}:1: the header must be: {','.join(COLUMNS)}")
    programs = []
    for row in rows:
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        line = rows.line_num
        if len(cells) > len(COLUMNS):
            raise ProgramsError(f"{source}:{line}: more than {len(COLUMNS)} columns")
        name, phone, url = cells + [""] * (len(COLUMNS) - len(cells))
        digits = "".join(c for c in phone if c.isdigit())
        if not name:
            raise ProgramsError(f"{source}:{line}: a program needs a name")
        if len(digits) not in PHONE_DIGITS or (len(digits) == 11 and digits[0] != "1"):
            raise ProgramsError(f"{source}:{line}: {phone!r} is not a US phone number")
        programs.append(Program(name, digits[-10:], url))
    return tuple(programs)


def load(path: str) -> tuple[Program, ...]:
    """The programs in the file at ``path``; none when no file is configured."""
    if not path:
        return ()
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ProgramsError(f"{path}: cannot be read ({error})") from None
    return parse(text, path)
