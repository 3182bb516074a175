"""The sandbox rail's own table, beside the rail: development only, not the kernel's."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models import Base, UTCDateTime, utcnow


class SandboxDebit(Base):
    """The sandbox rail's books: each debit it accepted, by idempotency key, with the return
    its test account number decides (never the number itself)."""

    __tablename__ = "sandbox_debits"

    idempotency_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    token: Mapped[str] = mapped_column(String(40))
    effective_date: Mapped[dt.date] = mapped_column(Date)
    return_code: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<SandboxDebit {self.reference}>"
