"""Card field validation: number (Luhn, brand, length), expiry, security code, billing ZIP.

Each check returns a reason code on failure, never the value, so callers can re-prompt
("that card number is not valid") without anything sensitive leaving this module.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from stdnum import luhn

# 13 or more digits, optionally split by single spaces or dashes: the shape of a card number,
# alone or run together with an expiry, a security code or a ZIP. The text channel refuses to
# keep it (logs, in the kernel, redact those of them that pass Luhn).
CARD_LIKE = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,}")


class Brand(StrEnum):
    VISA = "visa"
    MASTERCARD = "mastercard"
    AMEX = "amex"
    DISCOVER = "discover"
    DINERS = "diners"
    JCB = "jcb"


# As people write them, for screens (speech and texts say prompts' ``brand_*``).
_LABELS = {
    Brand.VISA: "Visa",
    Brand.MASTERCARD: "Mastercard",
    Brand.AMEX: "American Express",
    Brand.DISCOVER: "Discover",
    Brand.DINERS: "Diners Club",
    Brand.JCB: "JCB",
}


def brand_label(stored: str | None) -> str:
    """A payment's or capture's stored brand as people write it ("American Express"); a brand
    that is not ours (a payment connector's) as stored, and none as ``""``."""
    if not stored:
        return ""
    try:
        return _LABELS[Brand(stored)]
    except ValueError:
        return stored


class FieldError(StrEnum):
    """Why a card field was refused; each has a prompt of its own."""

    NUMBER_INVALID = "number_invalid"
    BRAND_UNSUPPORTED = "brand_unsupported"
    EXPIRY_INVALID = "expiry_invalid"
    EXPIRED = "expired"
    CODE_INVALID = "code_invalid"
    ZIP_INVALID = "zip_invalid"


_LENGTHS = {
    Brand.VISA: (13, 16, 19),
    Brand.MASTERCARD: (16,),
    Brand.AMEX: (15,),
    Brand.DISCOVER: (16, 17, 18, 19),
    Brand.DINERS: (14, 16, 17, 18, 19),
    Brand.JCB: (16, 17, 18, 19),
}
# (first digits as a numeric range, brand); the longest matching prefix wins.
_PREFIXES: tuple[tuple[int, int, Brand], ...] = (
    (4, 4, Brand.VISA),
    (51, 55, Brand.MASTERCARD),
    (2221, 2720, Brand.MASTERCARD),
    (34, 34, Brand.AMEX),
    (37, 37, Brand.AMEX),
    (6011, 6011, Brand.DISCOVER),
    (644, 649, Brand.DISCOVER),
    (65, 65, Brand.DISCOVER),
    (300, 305, Brand.DINERS),
    (36, 36, Brand.DINERS),
    (38, 39, Brand.DINERS),
    (3528, 3589, Brand.JCB),
)
SUPPORTED = frozenset(Brand)


def digits_only(text: str) -> bool:
    """ASCII 0-9 only: ``str.isdigit`` also accepts superscripts and other scripts' digits."""
    return text.isascii() and text.isdigit()


def luhn_valid(number: str) -> bool:
    return luhn.is_valid(number)


def brand_of(number: str) -> Brand | None:
    best: tuple[int, Brand] | None = None
    for low, high, brand in _PREFIXES:
        width = len(str(low))
        fits = len(number) >= width and low <= int(number[:width]) <= high
        if fits and (best is None or width > best[0]):
            best = (width, brand)
    return best[1] if best else None


@dataclass(frozen=True)
class CardNumberCheck:
    """The outcome of checking a card number: safe facts only."""

    brand: Brand | None = None
    last4: str = ""
    error: FieldError | None = None


def check_number(number: str, supported: frozenset[Brand] = SUPPORTED) -> CardNumberCheck:
    if not digits_only(number) or not 12 <= len(number) <= 19 or not luhn_valid(number):
        return CardNumberCheck(error=FieldError.NUMBER_INVALID)
    brand = brand_of(number)
    if brand is None or len(number) not in _LENGTHS[brand]:
        return CardNumberCheck(error=FieldError.NUMBER_INVALID)
    if brand not in supported:
        return CardNumberCheck(brand=brand, error=FieldError.BRAND_UNSUPPORTED)
    return CardNumberCheck(brand=brand, last4=number[-4:])


def parse_expiry(mmyy: str, today: dt.date) -> tuple[int, int] | FieldError:
    """``(month, four-digit year)`` for a real month not in the past, else the reason."""
    if len(mmyy) != 4 or not digits_only(mmyy) or not 1 <= int(mmyy[:2]) <= 12:
        return FieldError.EXPIRY_INVALID
    month, year = int(mmyy[:2]), 2000 + int(mmyy[2:])
    if (year, month) < (today.year, today.month):
        return FieldError.EXPIRED
    if year > today.year + 20:
        return FieldError.EXPIRY_INVALID
    return month, year


def code_length(brand: Brand) -> int:
    return 4 if brand is Brand.AMEX else 3


def check_code(code: str, brand: Brand) -> FieldError | None:
    return (
        None if digits_only(code) and len(code) == code_length(brand) else FieldError.CODE_INVALID
    )


def check_zip(postal: str) -> FieldError | None:
    return None if digits_only(postal) and len(postal) == 5 else FieldError.ZIP_INVALID
