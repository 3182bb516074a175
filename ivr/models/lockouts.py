"""Failed verifications, counted per subject, behind the lockout and velocity limits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base, UTCDateTime, utcnow


class LockoutCounter(Base):
    """Failed verifications for one subject (an account number as entered, or a caller ID).

    Subjects are keyed by what the caller typed, whether or not such an account exists, so
    lockout behaves the same for real and invented account numbers.
    """

    __tablename__ = "lockout_counters"

    subject: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<LockoutCounter {self.subject} failures={self.failures}>"
