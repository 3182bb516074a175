"""Reconnection requests: a disconnected account paid what reconnecting costs, and the billing
system is asked to restore its service."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base, UTCDateTime, enum_column, utcnow


class ReconnectionStatus(enum.StrEnum):
    PENDING = "pending"  # paid; the billing system has yet to restore service
    COMPLETED = "completed"  # service restored (the billing system's word)


class ReconnectionRequest(Base):
    """Written with the approval of the payment that covered what was owed (less disputes)
    plus the reconnection fee. While one is pending, the fee is not asked for again."""

    __tablename__ = "reconnection_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    """The whole payment, the fee included."""
    fee_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[ReconnectionStatus] = mapped_column(
        enum_column(ReconnectionStatus, "reconnection_status"), default=ReconnectionStatus.PENDING
    )
    language: Mapped[str] = mapped_column(String(10))
    """The language of the conversation that paid: the customer's notices are in it."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expected_by: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    """When service should be back, as the customer was told (``RECONNECTION_HOURS``)."""

    def __repr__(self) -> str:
        return f"<ReconnectionRequest {self.id} payment={self.payment_id} {self.status.value}>"
