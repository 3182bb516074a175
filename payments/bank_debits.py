"""Bank debits after the rail accepts them: submitted, then settled or returned.

The amount comes off the balance once, when the rail accepts the debit
(:meth:`payments.service.PaymentService.authorize`, the one payment path). Afterwards only the
rail knows where the money is: :func:`track_all` (each pass of ``ivr worker``) asks it about
every debit not yet final and records what it says. A return puts the amount back on the
balance in one atomic ``UPDATE``, marks the payment ``returned`` with the bank's reason code,
and queues the customer's notice (a :data:`ReturnNotice`) in the same transaction. Every step
is safe to repeat: a debit already final is never changed again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from ivr import audit
from ivr.db import lock_row, transaction
from ivr.models import (
    Account,
    BankAccountType,
    BankDebit,
    DebitState,
    Payment,
    PaymentStatus,
)
from payments.rails import BankRail, SecCode, Tracking

FINAL = (DebitState.SETTLED, DebitState.RETURNED)


@dataclass(frozen=True)
class NewDebit:
    """What a bank payment records beside its pending row, before the rail is asked: the
    authorization as the customer heard or read it, and when the money is to be taken."""

    sec_code: SecCode
    account_type: BankAccountType
    last4: str
    effective_date: dt.date
    authorization: str
    recording_sid: str | None = None


def record(session: Session, payment: Payment, rail: str, new: NewDebit) -> BankDebit:
    """The debit beside ``payment`` (a pending row :func:`payments.ledger.begin` wrote); the
    existing one when the payment was begun before under the same key."""
    debit = session.get(BankDebit, payment.id)
    if debit is None:
        debit = BankDebit(
            payment_id=payment.id,
            rail=rail,
            sec_code=new.sec_code.value,
            account_type=new.account_type,
            last4=new.last4,
            effective_date=new.effective_date,
            authorization=new.authorization,
            recording_sid=new.recording_sid,
            state=DebitState.PENDING,
        )
        session.add(debit)
        session.flush()
    return debit


ReturnNotice = Callable[[Session, Account, Payment, BankDebit], None]
"""Tells the customer of a return, in the transaction that records it."""


def apply(
    session: Session,
    payment_id: int,
    tracking: Tracking,
    now: dt.datetime,
    notify: ReturnNotice | None = None,
) -> DebitState | None:
    """Record where the rail says the debit is; the new state, or ``None`` if unchanged."""
    debit = lock_row(session, BankDebit, payment_id)
    assert debit is not None
    if debit.state in FINAL or tracking.state is debit.state:
        return None
    if tracking.state is DebitState.PENDING:
        return None  # the rail never moves a debit back
    debit.state = tracking.state
    if tracking.state is DebitState.SUBMITTED:
        debit.submitted_at = now
        return debit.state
    payment = session.get_one(Payment, payment_id)
    if tracking.state is DebitState.SETTLED:
        debit.settled_at = now
        _audit(session, payment, "settled")
        return debit.state
    debit.returned_at, debit.return_code = now, tracking.return_code or "R00"
    payment.status = PaymentStatus.RETURNED
    session.flush()
    account = session.scalars(
        update(Account)
        .where(Account.id == payment.account_id)
        .values(balance_cents=Account.balance_cents + payment.amount_cents)
        .returning(Account)
        .execution_options(populate_existing=True)
    ).one()
    _audit(session, payment, "returned", reason=debit.return_code)
    if notify is not None:
        notify(session, account, payment, debit)
    return debit.state


def _audit(session: Session, payment: Payment, outcome: str, **detail: str) -> None:
    audit.record(
        session,
        f"bank_debit.{outcome}",
        actor="rail",
        outcome=outcome,
        resource=f"payment:{payment.id}",
        amount_cents=payment.amount_cents,
        **detail,
    )


def open_debits(session: Session) -> list[tuple[int, str]]:
    """Each accepted debit not yet final, with the rail's reference for it."""
    query = (
        select(BankDebit.payment_id, Payment.gateway_reference)
        .join(Payment, Payment.id == BankDebit.payment_id)
        .where(
            BankDebit.state.not_in(FINAL),
            Payment.status == PaymentStatus.APPROVED,
            Payment.gateway_reference.is_not(None),
        )
        .order_by(BankDebit.payment_id)
    )
    return [(row.payment_id, str(row.gateway_reference)) for row in session.execute(query)]


def track_all(
    factory: sessionmaker[Session],
    rail: BankRail,
    today: dt.date,
    now: dt.datetime,
    notify: ReturnNotice | None = None,
) -> dict[DebitState, int]:
    """Ask the rail about every open debit, each in its own transaction (none is held while
    the rail answers); how many moved to each state."""
    with transaction(factory) as session:
        debits = open_debits(session)
    moved: dict[DebitState, int] = {}
    for payment_id, reference in debits:
        tracking = rail.track(reference, today)
        if tracking is None:
            continue
        with transaction(factory) as session:
            state = apply(session, payment_id, tracking, now, notify)
        if state is not None:
            moved[state] = moved.get(state, 0) + 1
    return moved
