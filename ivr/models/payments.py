"""Money: payment attempts, card fields waiting between webhooks, saved cards and pay links."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.accounts import Account
from ivr.models.base import Base, UTCDateTime, enum_column, utcnow


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    FAILED = "failed"
    UNKNOWN = "unknown"
    RETURNED = "returned"  # a bank debit the bank sent back: the amount is owed again


class PaymentKind(enum.StrEnum):
    CARD = "card"
    BANK = "bank"


class Payment(Base):
    """One attempt to move money. Written before the gateway is called (see payments/)."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    fee_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[PaymentStatus] = mapped_column(
        enum_column(PaymentStatus, "payment_status"), default=PaymentStatus.PENDING
    )
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    confirmation_number: Mapped[str | None] = mapped_column(String(10), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    method: Mapped[PaymentKind] = mapped_column(
        enum_column(PaymentKind, "payment_kind"), server_default=PaymentKind.CARD.value
    )
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


class CardCapture(Base):
    """Card fields waiting between webhooks, encrypted (AES-GCM) as one blob with a short TTL.

    Only ``payments.capture`` reads or writes ``ciphertext``. The row is deleted on settlement,
    cancel, timeout and hang-up, once expired by ``ivr worker``, and with its call's session.
    """

    __tablename__ = "card_captures"

    session_sid: Mapped[str] = mapped_column(
        ForeignKey("conversations.sid", ondelete="CASCADE"), primary_key=True
    )
    key_id: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<CardCapture {self.session_sid}>"


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
