"""The local telephony adapter's tables (``TELEPHONY=local``): development only.

Call redirects and holds wait here for the call simulator, which plays Twilio's part, so any
process sees them. They are declared on the kernel's declarative base, so Alembic's
migrations create them with the rest (``ivr/migrations/env.py`` imports this module).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models import Base, UTCDateTime, utcnow


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
