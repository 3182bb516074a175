"""What a caller may pay, and what it costs them: limits, over-payment, convenience fee; and
amounts as they are keyed or written, in integer cents."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from ivr.config import Settings
from payments.cards import digits_only

MAX_WRITTEN_CENTS = 10**13  # $100 billion: anything larger is a corrupt figure, not a bill
_WRITTEN = re.compile(r"-?\$?-?[\d,]*\.?\d{0,2}")


class AmountError(StrEnum):
    TOO_SMALL = "amount_too_small"
    TOO_LARGE = "amount_too_large"
    OVER_BALANCE = "amount_over_balance"


@dataclass(frozen=True)
class PaymentPolicy:
    min_cents: int
    max_cents: int
    allow_overpayment: bool
    fee_flat_cents: int
    fee_basis_points: int

    @classmethod
    def from_settings(cls, settings: Settings) -> PaymentPolicy:
        return cls(
            settings.PAYMENT_MIN_CENTS,
            settings.PAYMENT_MAX_CENTS,
            settings.ALLOW_OVERPAYMENT,
            settings.FEE_FLAT_CENTS,
            settings.FEE_BASIS_POINTS,
        )

    def check(self, amount_cents: int, payable_cents: int) -> AmountError | None:
        """``payable_cents`` is the balance less payments already in flight."""
        if amount_cents < self.min_cents:
            return AmountError.TOO_SMALL
        if amount_cents > self.max_cents:
            return AmountError.TOO_LARGE
        if not self.allow_overpayment and amount_cents > payable_cents:
            return AmountError.OVER_BALANCE
        return None

    def fee(self, amount_cents: int) -> int:
        """Flat plus a percentage (in basis points), rounded half up to the cent."""
        return self.fee_flat_cents + (amount_cents * self.fee_basis_points + 5_000) // 10_000


def parse_amount(keys: str) -> int | None:
    """Keypad dollars, ``*``, cents: ``25`` is $25.00, ``25*5`` is $25.50, ``25*05`` is $25.05."""
    dollars, star, cents = keys.partition("*")
    if not digits_only(dollars) or len(dollars) > 7:
        return None
    if not star:
        return int(dollars) * 100
    if not digits_only(cents) or len(cents) > 2:
        return None
    return int(dollars) * 100 + int(cents.ljust(2, "0"))


class WrittenAmountError(ValueError):
    """Text that is not a usable written amount; the message says why, without the text."""


def parse_written_amount(text: str) -> int:
    """Dollars as people write them, in cents: ``142.50``, ``$1,042.50``, ``.5`` ($0.50) or
    ``-5.00`` (a credit), with at most two decimal places. The keypad's form is
    :func:`parse_amount`'s."""
    text = text.strip()
    if not text or not _WRITTEN.fullmatch(text) or text.count("-") > 1:
        raise WrittenAmountError("is not an amount like 142.50")
    negative = text.count("-") == 1
    try:
        amount = Decimal(text.replace("$", "").replace(",", "").replace("-", ""))
    except InvalidOperation:
        raise WrittenAmountError("is not an amount like 142.50") from None
    cents = int(amount * 100)
    if cents > MAX_WRITTEN_CENTS:
        raise WrittenAmountError("is larger than any bill")
    return -cents if negative else cents
