"""Confirmation numbers: 10 digits, random, the last a Damm check digit.

Damm catches every single-digit error and every adjacent transposition, the two mistakes
people make writing a number down from speech, so an agent can tell a mistyped number at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
LENGTH = 10
SPOKEN_GROUPS = (3, 3, 4)


def damm_digit(digits: str) -> str:
    interim = 0
    for char in digits:
        interim = _DAMM[interim][int(char)]
    return str(interim)


def is_valid(number: str) -> bool:
    return (
        len(number) == LENGTH
        and number.isascii()
        and number.isdigit()
        and damm_digit(number) == "0"
    )


def new_confirmation_number(taken: Callable[[str], bool], attempts: int = 20) -> str:
    """A fresh random number for which ``taken`` is false (the database's unique index is the
    final guard; with 10⁹ values a collision retry is rare)."""
    for _ in range(attempts):
        body = f"{secrets.randbelow(9 * 10**8) + 10**8}"
        number = body + damm_digit(body)
        if not taken(number):
            return number
    raise RuntimeError("no free confirmation number after repeated tries")
