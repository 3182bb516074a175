"""Reading the payment ledger."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.models import Payment, PaymentStatus


def last_approved_payment(session: Session, account_id: int) -> Payment | None:
    query = (
        select(Payment)
        .where(Payment.account_id == account_id, Payment.status == PaymentStatus.APPROVED)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()
