"""The agent console: agents, their sign-ins, the calls handed to them, and their card captures."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.accounts import Account
from ivr.models.base import Base, UTCDateTime, enum_column, utcnow


class Agent(Base):
    """A contact-centre agent who signs in to the console. Only a scrypt hash of the password."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Agent {self.username} disabled={self.disabled}>"


class ConsoleSession(Base):
    """An agent signed in to the console. The browser's cookie holds a random key and the
    row only its SHA-256, so reading this table hands out no session; deleting the row ends
    the session wherever its cookie was copied."""

    __tablename__ = "console_sessions"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<ConsoleSession agent={self.agent_id} last_seen={self.last_seen_at:%H:%M}>"


class AgentCallStatus(enum.StrEnum):
    WAITING = "waiting"
    CLAIMED = "claimed"
    ENDED = "ended"


class AgentCall(Base):
    """A call the IVR passed to the agents (main-menu 0), with what the IVR verified."""

    __tablename__ = "agent_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    verified: Mapped[bool] = mapped_column(default=False)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    status: Mapped[AgentCallStatus] = mapped_column(
        enum_column(AgentCallStatus, "handoff_status"), default=AgentCallStatus.WAITING, index=True
    )
    # The conference bridge (ivr.channels.bridge): the agent's leg once connected, whether both legs
    # were moved into the call's conference, Twilio's sid for it, and whether the agent is on
    # hold there while the caller keys a card.
    agent_call_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    bridged: Mapped[bool] = mapped_column(default=False)
    conference_sid: Mapped[str | None] = mapped_column(String(64))
    agent_held: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    account: Mapped[Account | None] = relationship()
    agent: Mapped[Agent | None] = relationship()

    def __repr__(self) -> str:
        return f"<AgentCall {self.id} {self.call_sid} {self.status.value}>"


class CaptureStatus(enum.StrEnum):
    CONNECTING = "connecting"
    CAPTURING = "capturing"
    CONFIRMING = "confirming"
    AUTHORIZING = "authorizing"
    APPROVED = "approved"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    HUNG_UP = "hung_up"
    FAILED = "failed"


class AgentCapture(Base):
    """Secure capture an agent started on a caller's leg: masked progress only, never digits.

    ``fields`` maps each card field to ``{"status": pending|entering|valid|invalid|done,
    "reason": ...}``; ``version`` grows on every change so the console's event stream can tell.
    """

    __tablename__ = "agent_captures"

    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("agent_calls.id"), index=True)
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    fee_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    mode: Mapped[str] = mapped_column(String(20))
    status: Mapped[CaptureStatus] = mapped_column(
        enum_column(CaptureStatus, "capture_status"), default=CaptureStatus.CONNECTING
    )
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    brand: Mapped[str | None] = mapped_column(String(20))
    last4: Mapped[str | None] = mapped_column(String(4))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    pay_sid: Mapped[str | None] = mapped_column(String(64))  # Twilio's Payments session
    confirmation_number: Mapped[str | None] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<AgentCapture {self.id} {self.status.value}>"
