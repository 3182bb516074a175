"""The data model: accounts, call sessions, payments, arrangements, lockouts, audit.

Money is integer cents. Times are stored as naive UTC and handed back timezone-aware
(:class:`UTCDateTime`), so SQLite and PostgreSQL behave alike. Secrets are never stored:
PINs and SSN last-4 are keyed hashes, and ``__repr__`` shows none of them.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.ext.mutable import MutableDict
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum column storing the values (not names) as short strings."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    pass


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    PAST_DUE = "past_due"
    DISCONNECTED = "disconnected"
    CLOSED = "closed"


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    service_zip: Mapped[str | None] = mapped_column(String(10))
    ssn_last4_hash: Mapped[str | None] = mapped_column(String(100))
    pin_hash: Mapped[str] = mapped_column(String(100))
    balance_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    minimum_due_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[AccountStatus] = mapped_column(
        _enum(AccountStatus, "account_status"), default=AccountStatus.ACTIVE
    )
    language: Mapped[str] = mapped_column(String(10), default="en-US")
    time_zone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    phones: Mapped[list[AccountPhone]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="AccountPhone.id"
    )

    @property
    def last4(self) -> str:
        return self.number[-4:]

    def local_date(self, moment: dt.datetime) -> dt.date:
        """The calendar date of ``moment`` where the customer lives: times are stored in UTC,
        but due dates, card expiry and "paid on" are the customer's days."""
        return moment.astimezone(ZoneInfo(self.time_zone)).date()

    def __repr__(self) -> str:
        return f"<Account ...{self.last4} status={self.status.value}>"


class AccountPhone(Base):
    """A phone number on an account, in E.164, indexed for caller-ID lookup."""

    __tablename__ = "account_phones"
    __table_args__ = (UniqueConstraint("account_id", "e164"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(20), index=True)

    account: Mapped[Account] = relationship(back_populates="phones")

    def __repr__(self) -> str:
        return f"<AccountPhone ...{self.e164[-4:]}>"


class SessionStatus(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class CallSession(Base):
    """The state of one conversation between webhooks (voice: keyed by CallSid).

    ``turn`` numbers the prompt the caller is answering; it rides in every action URL so a
    replayed or out-of-date webhook is recognised and answered with ``last_response``.
    """

    __tablename__ = "call_sessions"

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
        _enum(SessionStatus, "session_status"), default=SessionStatus.ACTIVE
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
        return f"<CallSession {self.sid} state={self.state} turn={self.turn}>"


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Payment(Base):
    """One attempt to move money. Written before the gateway is called (see payments/)."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    fee_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[PaymentStatus] = mapped_column(
        _enum(PaymentStatus, "payment_status"), default=PaymentStatus.PENDING
    )
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    confirmation_number: Mapped[str | None] = mapped_column(String(10), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    session_sid: Mapped[str | None] = mapped_column(String(64))
    brand: Mapped[str | None] = mapped_column(String(20))
    last4: Mapped[str | None] = mapped_column(String(4))
    exp_month: Mapped[int | None] = mapped_column(Integer)
    exp_year: Mapped[int | None] = mapped_column(Integer)
    gateway: Mapped[str] = mapped_column(String(20))
    gateway_token: Mapped[str | None] = mapped_column(String(200))
    gateway_reference: Mapped[str | None] = mapped_column(String(200))
    decline_reason: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Payment {self.id} {self.amount_cents}c {self.status.value}>"


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
    kind: Mapped[ArrangementKind] = mapped_column(_enum(ArrangementKind, "arrangement_kind"))
    status: Mapped[ArrangementStatus] = mapped_column(
        _enum(ArrangementStatus, "arrangement_status"), default=ArrangementStatus.ACTIVE
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


class AuditEvent(Base):
    """Append-only record of who did what, when, from where, with what outcome. No secrets."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(80), index=True)
    resource: Mapped[str | None] = mapped_column(String(120))
    origin: Mapped[str | None] = mapped_column(String(120))
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action} {self.outcome}>"


class CardCapture(Base):
    """Card fields waiting between webhooks, encrypted (AES-GCM) as one blob with a short TTL.

    Only ``payments.capture`` reads or writes ``ciphertext``. The row is deleted on settlement,
    cancel, timeout and hang-up, once expired by ``ivr worker``, and with its call's session.
    """

    __tablename__ = "card_captures"

    session_sid: Mapped[str] = mapped_column(
        ForeignKey("call_sessions.sid", ondelete="CASCADE"), primary_key=True
    )
    key_id: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<CardCapture {self.session_sid}>"


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


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(Base):
    """A receipt or notice to deliver (SMS or email), written in the transaction that caused it.

    ``ivr worker`` delivers pending messages with retries; a failed delivery is never lost.
    """

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[OutboxStatus] = mapped_column(
        _enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.channel} {self.status.value}>"


# --- Text channel, pay links, saved payment methods, accessible voice ---


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


class PayLink(Base):
    """A one-time link to the secure pay page, bound to an account and an amount.

    Only a hash of the link's token is stored; the token itself is an HMAC of ``id`` and
    ``salt`` under the app's secret key, so a copy of the database cannot open a link.
    """

    __tablename__ = "pay_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    salt: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    fee_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    phone: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(10), default="en-US")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account] = relationship()

    def __repr__(self) -> str:
        return f"<PayLink {self.id} {self.amount_cents}c>"


class PaymentMethod(Base):
    """A card the gateway holds for the account, saved with the cardholder's consent.

    Only the gateway token and what identifies the card to its owner (brand, last four,
    expiry) are kept, with when and on which channel consent was given.
    """

    __tablename__ = "payment_methods"
    __table_args__ = (UniqueConstraint("account_id", "gateway_token"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    gateway: Mapped[str] = mapped_column(String(20))
    gateway_token: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str] = mapped_column(String(20))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int] = mapped_column(Integer)
    exp_year: Mapped[int] = mapped_column(Integer)
    consent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    consent_channel: Mapped[str] = mapped_column(String(10))
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<PaymentMethod {self.id} {self.brand} ...{self.last4}>"


class VoicePreference(Base):
    """How an account's callers want the voice line: slower prompts with longer time-outs.

    A table of its own rather than a column on ``accounts``, which the billing import owns.
    """

    __tablename__ = "voice_preferences"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    slow_prompts: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<VoicePreference {self.account_id} slow={self.slow_prompts}>"


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
        _enum(InstallmentStatus, "installment_status"), default=InstallmentStatus.SCHEDULED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_on: Mapped[dt.date | None] = mapped_column(Date)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<ArrangementInstallment {self.arrangement_id}/{self.number} {self.status.value}>"


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
        _enum(DisputeStatus, "dispute_status"), default=DisputeStatus.OPEN
    )
    channel: Mapped[str] = mapped_column(String(10))
    session_sid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(80))

    def __repr__(self) -> str:
        return f"<Dispute {self.id} {self.amount_cents}c {self.status.value}>"


# --- Agent console: agents, calls handed to them, and agent-started card captures ---


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


class HandoffStatus(enum.StrEnum):
    WAITING = "waiting"
    CLAIMED = "claimed"
    ENDED = "ended"


class Handoff(Base):
    """A call the IVR passed to the agents (main-menu 0), with what the IVR verified."""

    __tablename__ = "agent_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    verified: Mapped[bool] = mapped_column(default=False)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    status: Mapped[HandoffStatus] = mapped_column(
        _enum(HandoffStatus, "handoff_status"), default=HandoffStatus.WAITING, index=True
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
        return f"<Handoff {self.id} {self.call_sid} {self.status.value}>"


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
        _enum(CaptureStatus, "capture_status"), default=CaptureStatus.CONNECTING
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
