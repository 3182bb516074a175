"""Promises to pay later, and the dated installments that keep them."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.base import Base, UTCDateTime, enum_column, utcnow


class ArrangementKind(enum.StrEnum):
    EXTENSION = "extension"
    INSTALLMENTS = "installments"


class ArrangementStatus(enum.StrEnum):
    ACTIVE = "active"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"


class Arrangement(Base):
    """A promise to pay later: a moved due date or a plan of installments."""

    __tablename__ = "arrangements"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[ArrangementKind] = mapped_column(enum_column(ArrangementKind, "arrangement_kind"))
    status: Mapped[ArrangementStatus] = mapped_column(
        enum_column(ArrangementStatus, "arrangement_status"), default=ArrangementStatus.ACTIVE
    )
    confirmation_number: Mapped[str] = mapped_column(String(10), unique=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    due_date: Mapped[dt.date] = mapped_column(Date)
    schedule: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    card_payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    """The approved payment whose stored card pays the installments; None: the caller pays."""
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    installments: Mapped[list[ArrangementInstallment]] = relationship(
        order_by="ArrangementInstallment.number", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Arrangement {self.id} {self.kind.value} {self.status.value}>"


class InstallmentStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    PAID = "paid"
    MISSED = "missed"


class ArrangementInstallment(Base):
    """One dated payment an arrangement promises (an extension has exactly one).

    ``schedule`` on the arrangement is the terms as the caller agreed to them; these rows track
    keeping them: reminders sent, charge attempts, and the payment in flight (``payment_id``).
    """

    __tablename__ = "arrangement_installments"
    __table_args__ = (UniqueConstraint("arrangement_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    arrangement_id: Mapped[int] = mapped_column(ForeignKey("arrangements.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[dt.date] = mapped_column(Date, index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[InstallmentStatus] = mapped_column(
        enum_column(InstallmentStatus, "installment_status"), default=InstallmentStatus.SCHEDULED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_on: Mapped[dt.date | None] = mapped_column(Date)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<ArrangementInstallment {self.arrangement_id}/{self.number} {self.status.value}>"
