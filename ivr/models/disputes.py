"""Amounts an account holder says they do not owe."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base, UTCDateTime, enum_column, utcnow


class DisputeStatus(enum.StrEnum):
    OPEN = "open"
    CREDITED = "credited"
    DENIED = "denied"


class Dispute(Base):
    """An amount the account holder says they do not owe. While ``open`` it is held out of the
    amount the IVR asks for and out of arrangement and reconnection amounts."""

    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    reference_number: Mapped[str] = mapped_column(String(10), unique=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    scope: Mapped[str] = mapped_column(String(20))
    status: Mapped[DisputeStatus] = mapped_column(
        enum_column(DisputeStatus, "dispute_status"), default=DisputeStatus.OPEN
    )
    channel: Mapped[str] = mapped_column(String(10))
    session_sid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(80))
    closed_note: Mapped[str | None] = mapped_column(String(500))
    """Why it was resolved so, in the resolver's words (``ivr disputes resolve --note``)."""

    def __repr__(self) -> str:
        return f"<Dispute {self.id} {self.amount_cents}c {self.status.value}>"
