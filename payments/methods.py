"""Saved payment methods: cards the gateway holds, used only with the cardholder's consent.

A method is saved from an approved payment (its gateway token, brand, last four and expiry),
never from card data, and records when and on which channel the cardholder agreed. The text
channel and the phone offer only methods that are not removed and not expired.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr import audit
from ivr.models import Payment, PaymentMethod, PaymentStatus


def _saved(session: Session, payment: Payment) -> PaymentMethod | None:
    return session.scalars(
        select(PaymentMethod).where(
            PaymentMethod.account_id == payment.account_id,
            PaymentMethod.gateway_token == payment.gateway_token,
        )
    ).one_or_none()


def _chargeable(payment: Payment) -> bool:
    """Approved with what a gateway needs to charge the card again (a token and its expiry)."""
    return (
        payment.status is PaymentStatus.APPROVED
        and bool(payment.gateway_token)
        and payment.exp_month is not None
        and payment.exp_year is not None
    )


def can_save(session: Session, payment: Payment) -> bool:
    """Whether to offer saving this payment's card: chargeable again, and not saved yet."""
    if not _chargeable(payment):
        return False
    saved = _saved(session, payment)
    return saved is None or saved.removed_at is not None


def save_from(
    session: Session, payment: Payment, channel: str, now: dt.datetime
) -> PaymentMethod | None:
    """Save the card of an approved ``payment``, with consent given now on ``channel``.

    Returns ``None`` when there is nothing a gateway could charge again (no token or expiry).
    Saving the same card twice refreshes the consent instead of adding a second row.
    """
    if not _chargeable(payment) or payment.exp_month is None or payment.exp_year is None:
        return None
    method = _saved(session, payment)
    if method is None:
        method = PaymentMethod(
            account_id=payment.account_id,
            gateway=payment.gateway,
            gateway_token=payment.gateway_token or "",
            brand=payment.brand or "card",
            last4=payment.last4 or "",
            exp_month=payment.exp_month,
            exp_year=payment.exp_year,
            consent_at=now,
            consent_channel=channel,
        )
        session.add(method)
    method.consent_at, method.consent_channel, method.removed_at = now, channel, None
    session.flush()
    audit.record(
        session,
        "payment_method.saved",
        actor=f"{channel}:payment:{payment.id}",
        outcome="consented",
        resource=f"payment_method:{method.id}",
    )
    return method


def active(session: Session, account_id: int) -> list[PaymentMethod]:
    """The account's saved methods not removed, expired ones too (the cardholder may still
    remove them), most recently consented first."""
    query = (
        select(PaymentMethod)
        .where(PaymentMethod.account_id == account_id, PaymentMethod.removed_at.is_(None))
        .order_by(PaymentMethod.consent_at.desc(), PaymentMethod.id.desc())
    )
    return list(session.scalars(query))


def usable(session: Session, account_id: int, today: dt.date) -> list[PaymentMethod]:
    """The account's saved methods that may be charged today, most recently consented first."""
    return [
        method
        for method in active(session, account_id)
        if (method.exp_year, method.exp_month) >= (today.year, today.month)
    ]


def on_file(session: Session, account_id: int) -> list[PaymentMethod]:
    """Every method saved for the account, removed ones included (for operators)."""
    query = select(PaymentMethod).where(PaymentMethod.account_id == account_id)
    return list(session.scalars(query.order_by(PaymentMethod.id)))


def remove(
    session: Session, account_id: int, method_id: int, *, actor: str, now: dt.datetime
) -> PaymentMethod | None:
    """Withdraw consent: the card is never offered or charged again (the row stays, audited)."""
    method = session.get(PaymentMethod, method_id, with_for_update=True)
    if method is None or method.account_id != account_id:
        return None
    if method.removed_at is None:
        method.removed_at = now
        audit.record(
            session,
            "payment_method.removed",
            actor=actor,
            outcome="removed",
            resource=f"payment_method:{method.id}",
        )
    return method
