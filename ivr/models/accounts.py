"""Accounts: who owes what, the phones that identify them, and how they like the voice line."""

from __future__ import annotations

import datetime as dt
import enum
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.base import Base, UTCDateTime, enum_column, utcnow


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    PAST_DUE = "past_due"
    DISCONNECTED = "disconnected"
    CLOSED = "closed"


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    service_zip: Mapped[str | None] = mapped_column(String(10))
    ssn_last4_hash: Mapped[str | None] = mapped_column(String(100))
    pin_hash: Mapped[str] = mapped_column(String(100))
    balance_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    minimum_due_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[AccountStatus] = mapped_column(
        enum_column(AccountStatus, "account_status"), default=AccountStatus.ACTIVE
    )
    language: Mapped[str] = mapped_column(String(10), default="en-US")
    time_zone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    # The instant the last import's balance was true at (its balance_as_of), if it said:
    # an older file is refused for this account, so a stale export cannot win.
    balance_as_of: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    phones: Mapped[list[AccountPhone]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="AccountPhone.id"
    )

    @property
    def last4(self) -> str:
        return self.number[-4:]

    def local_date(self, moment: dt.datetime) -> dt.date:
        """The calendar date of ``moment`` where the customer lives: times are stored in UTC,
        but due dates, card expiry and "paid on" are the customer's days."""
        return moment.astimezone(ZoneInfo(self.time_zone)).date()

    def __repr__(self) -> str:
        return f"<Account ...{self.last4} status={self.status.value}>"


class AccountPhone(Base):
    """A phone number on an account, in E.164, indexed for caller-ID lookup."""

    __tablename__ = "account_phones"
    __table_args__ = (UniqueConstraint("account_id", "e164"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(20), index=True)

    account: Mapped[Account] = relationship(back_populates="phones")

    def __repr__(self) -> str:
        return f"<AccountPhone ...{self.e164[-4:]}>"


class VoicePreference(Base):
    """How an account's callers want the voice line: slower prompts with longer time-outs.

    A table of its own rather than a column on ``accounts``, which the billing import owns.
    """

    __tablename__ = "voice_preferences"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    slow_prompts: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<VoicePreference {self.account_id} slow={self.slow_prompts}>"
