"""The sandbox gateway's own table, beside the gateway: development only, not the kernel's.

It is declared on the kernel's declarative base, so Alembic's migrations create it with the
rest (``ivr/migrations/env.py`` imports this module for the metadata).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models import Base, UTCDateTime, utcnow


class SandboxCharge(Base):
    """The embedded sandbox gateway's own books: what it charged, by idempotency key.

    It is written in the gateway's own transaction, like a remote processor's records, so a
    crash between its approval and our commit leaves exactly what ``ivr reconcile`` must settle.
    """

    __tablename__ = "sandbox_charges"

    idempotency_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20))
    decline_reason: Mapped[str | None] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(40))
    token: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<SandboxCharge {self.reference} {self.status}>"
