"""What an account has besides its balance, written as the IVR would have left it: a plan
with an installment paid, saved cards, disputes open and resolved, verification locks (for the
console's account panel)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from ivr.channels.dispute_notices import dispute_outcomes
from ivr.config import Settings
from ivr.db import transaction
from ivr.models import (
    Account,
    Arrangement,
    ArrangementInstallment,
    ArrangementKind,
    ArrangementStatus,
    DisputeStatus,
    InstallmentStatus,
    LockoutCounter,
    PaymentMethod,
    utcnow,
)
from payments import disputes
from verification import lockout


def lock(db: Session, subject: str, until: dt.datetime = lockout.HARD_LOCK) -> None:
    """Lock ``subject`` (for good unless ``until``), committed."""
    db.merge(LockoutCounter(subject=subject, failures=0, locked_until=until))
    db.commit()


def plan_with_one_installment_paid(db: Session, account: Account) -> None:
    """A three-payment plan whose first installment is paid: $47.50 due next on Dec 20."""
    dates = [dt.date(2026, 11, 20), dt.date(2026, 12, 20), dt.date(2027, 1, 20)]
    db.add(
        Arrangement(
            account_id=account.id,
            kind=ArrangementKind.INSTALLMENTS,
            status=ArrangementStatus.ACTIVE,
            confirmation_number="5550001234",
            amount_cents=14250,
            due_date=dates[-1],
            schedule=[{"date": d.isoformat(), "amount_cents": 4750} for d in dates],
            created_at=dt.datetime(2026, 11, 1, 15, 0, tzinfo=dt.UTC),
            installments=[
                ArrangementInstallment(
                    number=n,
                    due_date=d,
                    amount_cents=4750,
                    status=InstallmentStatus.PAID if n == 1 else InstallmentStatus.SCHEDULED,
                )
                for n, d in enumerate(dates, start=1)
            ],
        )
    )
    db.commit()


def saved_cards(db: Session, account: Account) -> None:
    """A card on file, an expired one and one the cardholder removed."""
    for brand, last4, year, removed in (
        ("visa", "4242", 2030, None),
        ("mastercard", "4444", 2020, None),
        ("amex", "0005", 2031, utcnow()),
    ):
        db.add(
            PaymentMethod(
                account_id=account.id,
                gateway="sandbox",
                gateway_token=f"tok_{last4}",
                brand=brand,
                last4=last4,
                exp_month=1,
                exp_year=year,
                consent_at=utcnow(),
                consent_channel="voice",
                removed_at=removed,
            )
        )
    db.commit()


def two_disputes(factory: sessionmaker[Session], account: Account, settings: Settings) -> list[str]:
    """A $10 dispute denied with a note, then a $20 one still open: their reference numbers."""
    made: list[str] = []
    for cents in (1000, 2000):
        with transaction(factory) as session:
            made.append(
                disputes.open_dispute(
                    session, account.id, cents, disputes.Scope.AMOUNT, channel="voice",
                    session_sid=None, actor="caller:+15005550006", now=utcnow(),
                ).reference_number
            )  # fmt: skip
    with transaction(factory) as session:
        disputes.resolve(
            session, made[0], DisputeStatus.DENIED, actor="operator:kim", now=utcnow(),
            notify=dispute_outcomes(settings.COMPANY_NAME), note="meter read twice",
        )  # fmt: skip
    return made
