"""One-time links to the secure pay page, for callers who cannot key a card into a phone.

A link is bound to one account and one amount, expires after a few minutes, and is spent by
its first approved payment. Its token is an HMAC of the link's id and a random salt under the
app's secret key: the database keeps only the salt and a SHA-256 of the token, so a copy of it
opens no link, yet the app can say the same link again when Twilio repeats a webhook.

A declined card leaves the link open for another card until it expires; a payment in flight
blocks a second submit, so a double click never charges twice.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr import audit
from ivr.db import lock_row
from ivr.models import PayLink, Payment, PaymentStatus
from payments import ledger
from payments.cards import Brand, FieldError, check_code, check_number, check_zip, parse_expiry
from payments.gateways import Card

PATH = "/pay/"
_SESSION = "paylink:"  # how the ledger names a link's payment session


class LinkState(StrEnum):
    OPEN = "open"
    PENDING = "pending"  # a payment through it is with the gateway, or its outcome is unknown
    USED = "used"
    PAID = "paid"  # the bill was paid since the link was sent, some other way
    EXPIRED = "expired"
    UNKNOWN = "unknown"


def token_for(secret: str, link: PayLink) -> str:
    mac = hmac.new(secret.encode(), f"paylink:{link.id}:{link.salt}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:24]).decode()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def url_for(base_url: str, token: str) -> str:
    return base_url.rstrip("/") + PATH + token


@dataclass(frozen=True)
class NewLink:
    account_id: int
    amount_cents: int
    fee_cents: int
    phone: str | None
    language: str


def create(
    session: Session, secret: str, new: NewLink, *, now: dt.datetime, ttl: dt.timedelta
) -> tuple[PayLink, str]:
    """A new link and its token (shown once, to be sent to the account's phone)."""
    link = PayLink(
        salt=secrets.token_hex(16),
        account_id=new.account_id,
        amount_cents=new.amount_cents,
        fee_cents=new.fee_cents,
        phone=new.phone,
        language=new.language,
        attempts=0,
        expires_at=now + ttl,
        created_at=now,
    )
    session.add(link)
    session.flush()
    token = token_for(secret, link)
    link.token_hash = _digest(token)
    audit.record(
        session,
        "paylink.created",
        actor="system",
        outcome="created",
        resource=f"paylink:{link.id}",
        amount_cents=new.amount_cents,
    )
    return link, token


def find(session: Session, token: str, *, lock: bool = False) -> PayLink | None:
    """The link a token opens (row-locked with ``lock``); ``None`` for any other string."""
    if not token or len(token) > 64 or not token.isascii():
        return None
    query = select(PayLink).where(PayLink.token_hash == _digest(token))
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def state(session: Session, link: PayLink | None, now: dt.datetime) -> LinkState:
    if link is None:
        return LinkState.UNKNOWN
    if link.used_at is not None:
        return LinkState.USED
    if link.payment_id is not None:
        payment = session.get(Payment, link.payment_id, populate_existing=True)
        if payment is not None and payment.status in ledger.IN_FLIGHT:
            return LinkState.PENDING
    if paid_since(session, link) is not None:
        return LinkState.PAID
    if link.expires_at <= now:
        return LinkState.EXPIRED
    return LinkState.OPEN


def paid_since(session: Session, link: PayLink) -> Payment | None:
    """The latest payment approved on the link's account since the link was sent, if what is
    left to pay no longer covers the link's amount: the bill was paid by phone, by text or by
    another link meanwhile, and this link must say so rather than take a second payment."""
    account = link.account
    payable = account.balance_cents - ledger.in_flight_cents(session, account.id)
    if payable >= link.amount_cents:
        return None
    query = (
        select(Payment)
        .where(
            Payment.account_id == account.id,
            Payment.status == PaymentStatus.APPROVED,
            Payment.created_at >= link.created_at,
        )
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


@dataclass(frozen=True)
class CardForm:
    """The pay page's fields as typed (spaces, dashes and a slash are allowed and dropped)."""

    number: str
    expiry: str
    code: str
    postal: str


def _clean(value: str, keep: int) -> str:
    return "".join(ch for ch in value if ch not in " -/")[:keep]


def check_card(form: CardForm, today: dt.date) -> Card | dict[str, FieldError]:
    """The card, or the reason for each field that fails: the same rules as keypad capture."""
    number, expiry = _clean(form.number, 40), _clean(form.expiry, 8)
    code, postal = _clean(form.code, 8), _clean(form.postal, 10)
    errors: dict[str, FieldError] = {}
    checked = check_number(number)
    if checked.error is not None:
        errors["number"] = checked.error
    parsed = parse_expiry(expiry, today)
    if isinstance(parsed, FieldError):
        errors["expiry"] = parsed
    code_error = check_code(code, checked.brand or Brand.VISA)
    if code_error is not None:
        errors["code"] = code_error
    zip_error = check_zip(postal)
    if zip_error is not None:
        errors["postal"] = zip_error
    if errors or isinstance(parsed, FieldError):
        return errors
    return Card(number, parsed[0], parsed[1], code, postal)


def session_sid(link: PayLink) -> str:
    """What the ledger keys the link's payments by: one link is one payment session."""
    return f"{_SESSION}{link.id}"


def for_session(session: Session, sid: str) -> PayLink | None:
    """The link a payment's ``session_sid`` names, if it names one."""
    link_id = sid.removeprefix(_SESSION)
    if link_id == sid or not link_id.isdigit():
        return None
    return session.get(PayLink, int(link_id))


def begin_payment(
    session: Session,
    link: PayLink,
    card: Card,
    *,
    gateway: str,
    allow_overpayment: bool,
    declines: ledger.DeclineLimits,
    reconnection_fee_cents: int = 0,
) -> Payment:
    """The pending ledger row for one try with ``card`` (the link must be open and locked).

    Raises :class:`payments.ledger.PaymentRefusedError` when payments already in flight cover
    the balance (with a disconnected account's ``reconnection_fee_cents``), and
    :class:`payments.ledger.DeclineLimitError` once too many cards have been
    declined through this link or on its account.
    """
    checked = check_number(card.number)
    link.attempts += 1
    payment = ledger.begin(
        session,
        ledger.NewPayment(
            account_id=link.account_id,
            amount_cents=link.amount_cents,
            fee_cents=link.fee_cents,
            idempotency_key=f"paylink:{link.id}:{link.attempts}",
            channel="web",
            session_sid=session_sid(link),
            gateway=gateway,
            brand=checked.brand.value if checked.brand else None,
            last4=checked.last4 or None,
        ),
        allow_overpayment=allow_overpayment,
        declines=declines,
        reconnection_fee_cents=reconnection_fee_cents,
    )
    link.payment_id = payment.id
    return payment


def spend(session: Session, link_id: int, payment: Payment, now: dt.datetime) -> PayLink:
    """After settlement: an approval spends the link; anything else leaves it as it was."""
    link = lock_row(session, PayLink, link_id)
    assert link is not None
    if payment.status is PaymentStatus.APPROVED and link.used_at is None:
        link.used_at = now
        audit.record(
            session,
            "paylink.used",
            actor="web",
            outcome="approved",
            resource=f"paylink:{link.id}",
            payment=payment.id,
        )
    return link
