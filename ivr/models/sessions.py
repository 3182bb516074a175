"""Conversations between webhooks: call sessions (voice and text) and the inbound texts."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.ext.mutable import MutableDict
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.accounts import Account
from ivr.models.base import Base, UTCDateTime, enum_column, utcnow
from ivr.models.payments import CardCapture


class SessionStatus(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class Conversation(Base):
    """One conversation's state between webhooks: a call (keyed by CallSid) or a text thread (keyed
    by the sender's number).

    ``turn`` numbers the prompt the caller is answering; it rides in every action URL so a
    replayed or out-of-date webhook is recognised and answered with ``last_response``.
    """

    __tablename__ = "conversations"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), default="voice")
    caller: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(10), default="en-US")
    state: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(JSON), default=dict)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    verified: Mapped[bool] = mapped_column(default=False)
    turn: Mapped[int] = mapped_column(Integer, default=0)
    last_response: Mapped[str | None] = mapped_column(Text)
    status: Mapped[SessionStatus] = mapped_column(
        enum_column(SessionStatus, "session_status"), default=SessionStatus.ACTIVE
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)

    account: Mapped[Account | None] = relationship()
    # Read alongside the session so card-entry turns need no extra query; only
    # payments.capture reads or writes the row itself.
    capture: Mapped[CardCapture | None] = relationship(viewonly=True)

    def takes_input(self, now: dt.datetime) -> bool:
        """Whether a caller's answer may still move this conversation: not once the call has
        ended (its working data is gone, the caller with it), nor once it sat idle past its
        expiry. A late or repeated webhook for such a session changes nothing."""
        return self.status is SessionStatus.ACTIVE and self.expires_at > now

    def __repr__(self) -> str:
        return f"<Conversation {self.sid} state={self.state} turn={self.turn}>"


class TextMessage(Base):
    """One inbound text, by Twilio's MessageSid, with the reply it got.

    A repeated webhook (Twilio's retry) finds its row and gets ``reply`` again, unchanged. The
    body is never stored: it may hold a PIN or, against advice, a card number. A reply that
    carried a pay link is stored without it (``paylink_id`` re-creates it on a replay), so the
    table holds no usable link.
    """

    __tablename__ = "text_messages"

    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), index=True)
    reply: Mapped[str | None] = mapped_column(Text)
    paylink_id: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<TextMessage {self.message_sid}>"


class TextOptOut(Base):
    """A number that texted STOP: it gets no text from us until it texts START."""

    __tablename__ = "text_opt_outs"

    phone: Mapped[str] = mapped_column(String(32), primary_key=True)
    opted_out_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<TextOptOut ...{self.phone[-4:]}>"
