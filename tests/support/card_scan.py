"""Looking for card and bank account data where it must never be: database rows, logs, TwiML,
outbox."""

from __future__ import annotations

import json
import re

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from ivr.models import CardCapture
from payments.capture import KeyRing
from payments.rails.sandbox import SETTLES, TEST_RETURNS

TEST_CARDS = (
    "4242424242424242",
    "4000000000000002",
    "4000000000009995",
    "4000000000000119",
    "4000000000000069",
    "378282246310005",
)
# The sandbox rail's test bank account numbers.
TEST_BANK_ACCOUNTS = (SETTLES, *TEST_RETURNS)
# Security codes chosen to be unmistakable as standalone tokens.
CODE = "739"
AMEX_CODE = "7391"


# Each number with or without spaces, dashes or dots between its digits, as people write them.
_WRITTEN = {
    number: re.compile(r"[ .-]?".join(number)) for number in (*TEST_CARDS, *TEST_BANK_ACCOUNTS)
}


def leaks(haystack: str) -> list[str]:
    """Card and bank account numbers (in any of those forms) and security codes (as
    :func:`standalone` tokens) found in ``haystack``."""
    found = [number for number, written in _WRITTEN.items() if written.search(haystack)]
    return found + [code for code in (CODE, AMEX_CODE) if standalone(code).search(haystack)]


def standalone(code: str) -> re.Pattern[str]:
    """``code`` as a token of its own: not part of a longer number or word, of a hyphenated
    number (a confirmation number written 625-739-5540) or of a decimal (an elapsed 0.739 s)."""
    return re.compile(rf"(?<![0-9A-Za-z.-]){code}(?![0-9A-Za-z-])")


def database_dump(session: Session) -> str:
    """Every row of every table, as text (what a copied database would reveal)."""
    session.rollback()
    lines = []
    for table in inspect(session.get_bind()).get_table_names():
        for row in session.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608 - our tables
            # str(), not repr(): a datetime's repr shows microseconds as a bare number.
            lines.append(f"{table}: " + " | ".join(str(value) for value in row))
    return "\n".join(lines)


def captures_left(session: Session) -> int:
    session.rollback()
    return len(session.scalars(select(CardCapture)).all())


def decryptable(session: Session, capture_key: str) -> list[dict[str, str]]:
    """The card fields that whoever holds ``capture_key`` could read from the capture store,
    expired or not: what a copy of the database and the key would give away."""
    session.rollback()
    keys = KeyRing(capture_key)
    opened = []
    for row in session.scalars(select(CardCapture)):
        cipher = keys.cipher(row.key_id)
        if cipher is not None:
            opened.append(
                json.loads(cipher.decrypt(row.nonce, row.ciphertext, row.session_sid.encode()))
            )
    return opened
