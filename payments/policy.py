"""What a caller may pay, and what it costs them: limits, over-payment, convenience fee."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ivr.config import Settings
from payments.cards import digits_only


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
