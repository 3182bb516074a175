"""Tables only the development fakes use: the sandbox gateway's books, the local telephony's."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base, UTCDateTime, utcnow


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


class LocalRedirect(Base):
    """A call redirect the local telephony adapter holds for the simulator (Twilio's part)."""

    __tablename__ = "local_redirects"

    call_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<LocalRedirect {self.call_sid}>"


class LocalHold(Base):
    """A conference participant the local telephony adapter put on hold (or took off it), so
    the simulator can show what the agent hears."""

    __tablename__ = "local_holds"

    call_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    conference_sid: Mapped[str] = mapped_column(String(64))
    held: Mapped[bool] = mapped_column(default=False)
    hold_url: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<LocalHold {self.call_sid} held={self.held}>"
