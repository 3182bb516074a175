"""Bank debits: the rail's progress of a payment made from a bank account, and its proof.

A bank payment is a :class:`~ivr.models.payments.Payment` like any other (approved once the
rail accepts it, so the balance shows it at once) with one :class:`BankDebit` beside it for
what only a debit has: the date it is taken, where it is on the rail, a return's reason, and
the authorization the caller heard, kept two years as NACHA asks. Only the rail's token, the
last four and the account type identify the account; its number never reaches this table.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base, UTCDateTime, enum_column, utcnow


class BankAccountType(enum.StrEnum):
    CHECKING = "checking"
    SAVINGS = "savings"


class DebitState(enum.StrEnum):
    PENDING = "pending"  # accepted, waiting for its date
    SUBMITTED = "submitted"  # sent to the banks
    SETTLED = "settled"
    RETURNED = "returned"


class BankDebit(Base):
    __tablename__ = "bank_debits"

    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payments.id", ondelete="RESTRICT"), primary_key=True
    )
    rail: Mapped[str] = mapped_column(String(20))
    sec_code: Mapped[str] = mapped_column(String(3))
    account_type: Mapped[BankAccountType] = mapped_column(
        enum_column(BankAccountType, "bank_account_type")
    )
    last4: Mapped[str] = mapped_column(String(4))
    bank_name: Mapped[str | None] = mapped_column(String(60))
    token: Mapped[str | None] = mapped_column(String(200))
    effective_date: Mapped[dt.date] = mapped_column(Date, index=True)
    state: Mapped[DebitState] = mapped_column(
        enum_column(DebitState, "debit_state"), default=DebitState.PENDING, index=True
    )
    return_code: Mapped[str | None] = mapped_column(String(3))
    authorization: Mapped[str] = mapped_column(Text)
    """The authorization exactly as it was read to the caller (or shown on the pay page)."""
    recording_sid: Mapped[str | None] = mapped_column(String(64))
    authorized_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<BankDebit {self.payment_id} {self.account_type.value} {self.state.value}>"
