"""Typed values and how each language speaks them.

TTS engines read "$142.50" inconsistently ("one hundred forty two point five zero dollars"),
so money is written out the way a person says it; digit strings are spaced so they are read
one digit at a time, in groups, with a pause between groups.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

_MONTHS = {
    "en-US": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "es-US": [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
}
_WEEKDAYS = {
    "en-US": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "es-US": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
}
_MONEY_WORDS = {
    # (dollar, dollars, cent, cents, joiner)
    "en-US": ("dollar", "dollars", "cent", "cents", "and"),
    "es-US": ("dólar", "dólares", "centavo", "centavos", "con"),
}
# A negative amount is money the customer has on the account, not a debt: never "minus".
_CREDIT = {"en-US": "a credit of {}", "es-US": "un crédito de {}"}


@dataclass(frozen=True)
class Money:
    """An amount in integer cents; spoken below zero as a credit ("a credit of 25 dollars")."""

    cents: int

    def speak(self, language: str) -> str:
        dollar, dollars, cent, cents, joiner = _MONEY_WORDS[language]
        whole, part = divmod(abs(self.cents), 100)
        whole_text = f"{whole} {dollar if whole == 1 else dollars}"
        part_text = f"{part} {cent if part == 1 else cents}"
        if part == 0:
            words = whole_text
        elif whole == 0:
            words = part_text
        else:
            words = f"{whole_text} {joiner} {part_text}"
        return _CREDIT[language].format(words) if self.cents < 0 else words

    def write(self, language: str) -> str:
        """Figures, signed as a statement prints them (operators read these too)."""
        sign = "-" if self.cents < 0 else ""
        return f"{sign}${abs(self.cents) / 100:,.2f}"


@dataclass(frozen=True)
class SpokenDate:
    """A calendar date, spoken with its weekday."""

    date: dt.date

    def speak(self, language: str) -> str:
        weekday = _WEEKDAYS[language][self.date.weekday()]
        month = _MONTHS[language][self.date.month - 1]
        if language == "es-US":
            return f"{weekday} {self.date.day} de {month} de {self.date.year}"
        return f"{weekday}, {month} {self.date.day}, {self.date.year}"

    def write(self, language: str) -> str:
        if language == "es-US":
            return f"{self.date.day:02d}/{self.date.month:02d}/{self.date.year}"
        return f"{self.date.month:02d}/{self.date.day:02d}/{self.date.year}"


@dataclass(frozen=True)
class SpokenDigits:
    """A digit string read one digit at a time, in groups (e.g. 3-3-4), pausing between."""

    value: str
    groups: tuple[int, ...] = ()

    def _chunks(self) -> list[str]:
        chunks: list[str] = []
        rest = self.value
        for size in self.groups:
            chunks.append(rest[:size])
            rest = rest[size:]
        chunks.append(rest)
        return [chunk for chunk in chunks if chunk]

    def speak(self, language: str) -> str:
        return ", ".join(" ".join(chunk) for chunk in self._chunks())

    def write(self, language: str) -> str:
        return "-".join(self._chunks())


Spoken = Money | SpokenDate | SpokenDigits
