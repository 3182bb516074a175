"""Coverage-guided fuzzing (atheris, libFuzzer) of everything a caller or a billing file types:
keypad amounts and dates, card number, expiry, security code and ZIP, CSV money and dates.

Each input is checked for properties, not only for crashes: a parser either refuses the input
with its documented answer (``None``, a field error, ``RowError``) or returns a value that
satisfies what the rest of the code relies on.

    python -m tests.fuzz.parsers -max_total_time=60      # as long as you like
"""

from __future__ import annotations

import datetime as dt
import sys

import atheris

# Imported first, so only our parsers (below) are instrumented, not SQLAlchemy and the rest.
import ivr.models  # noqa: F401
import verification  # noqa: F401

with atheris.instrument_imports():
    from ivr.ops import importer
    from payments import arrangements, cards, policy

TODAY = dt.date(2026, 11, 21)


def check_keypad(text: str) -> None:
    cents = policy.parse_amount(text)
    if cents is not None:
        assert 0 <= cents < 10**10
        assert set(text) <= set("0123456789*")
    day = arrangements.parse_date(text, TODAY)
    if day is not None:
        assert abs((day - TODAY).days) <= 366 + 31
        assert text == f"{day.month:02d}{day.day:02d}"


def check_card_fields(text: str) -> None:
    number = cards.check_number(text)
    if number.error is None:
        assert number.brand is not None and cards.luhn_valid(text)
        assert number.last4 == text[-4:] and 12 <= len(text) <= 19
    expiry = cards.parse_expiry(text, TODAY)
    if isinstance(expiry, tuple):
        month, year = expiry
        assert 1 <= month <= 12 and (year, month) >= (TODAY.year, TODAY.month)
    for brand in cards.Brand:
        if cards.check_code(text, brand) is None:
            assert len(text) == cards.code_length(brand) and text.isdigit()
    if cards.check_zip(text) is None:
        assert len(text) == 5 and text.isascii() and text.isdigit()


def check_import_cells(text: str) -> None:
    try:
        cents = importer.parse_cents(text, "balance")
        assert abs(cents) <= policy.MAX_WRITTEN_CENTS
    except importer.RowError as error:
        assert "balance" in str(error)
    try:
        importer.parse_due_date(text)
    except importer.RowError as error:
        assert "due_date" in str(error)


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    text = provider.ConsumeUnicodeNoSurrogates(32)
    check_keypad(text)
    check_card_fields(text)
    check_import_cells(text)


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
