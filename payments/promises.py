"""Keeping promises over time: reminders, scheduled installment charges, kept and broken.

``ivr arrangements run`` (and every pass of ``ivr worker``) calls :func:`run`. Each active
arrangement is reviewed under its row lock, in the account's own calendar:

- An installment is *met* once the payments approved on the account since the arrangement was
  made, plus any amount now in dispute, add up to everything promised through that installment
  (however they were paid: a scheduled charge, a call, the text channel), or once nothing is
  owed any more. Paying early therefore never leads to a second charge, and a disputed amount
  is neither charged nor counted as missed.
- A plan with a card on file (``Arrangement.card_payment_id``) has each installment charged
  on its date with the stored token: the pending ledger row is written first under one key per
  installment attempt, then :meth:`PaymentService.authorize` asks the gateway. A repeated
  run finds the row and re-asks under the same key, so nothing is ever charged twice; an
  ``unknown`` row is left to ``ivr reconcile``. A declined charge is tried again
  ``retry_days`` later, up to ``attempts`` times; the last failure breaks the promise.
- Without a card on file (extensions, and plans made with no card to charge) the caller pays;
  the day after a date passes unmet, the promise is broken.
- A reminder goes out ``reminder_days`` before each unmet date, exactly once (its time is
  written in the transaction that queues it).

Broken promises are what :func:`payments.arrangements.refusal` counts against new ones.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr import audit, logs
from ivr.config import ConfigError, Settings
from ivr.db import lock_row, transaction
from ivr.models import (
    Account,
    Arrangement,
    ArrangementInstallment,
    ArrangementKind,
    ArrangementStatus,
    InstallmentStatus,
    Payment,
    PaymentStatus,
)
from payments import ledger
from payments.disputes import held_cents, owed_cents
from payments.service import Authorize, PaymentService, SavedCard

log = logging.getLogger("ivr.promises")

CHANNEL = "plan"


@dataclass(frozen=True)
class PromisePolicy:
    """How promises are chased (see docs/configuration.md)."""

    attempts: int
    retry_days: int
    reminder_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> PromisePolicy:
        if settings.INSTALLMENT_ATTEMPTS < 1:
            raise ConfigError("INSTALLMENT_ATTEMPTS must be at least 1.")
        if settings.INSTALLMENT_RETRY_DAYS < 1 or settings.REMINDER_DAYS < 0:
            raise ConfigError("INSTALLMENT_RETRY_DAYS must be 1 or more, REMINDER_DAYS 0 or more.")
        return cls(
            settings.INSTALLMENT_ATTEMPTS, settings.INSTALLMENT_RETRY_DAYS, settings.REMINDER_DAYS
        )


class NoticeKind(StrEnum):
    REMINDER = "reminder"
    CHARGE_FAILED = "charge_failed"
    KEPT = "kept"
    BROKEN = "broken"


@dataclass(frozen=True)
class Notice:
    """What the account holder is told: ``amount`` due (or missed) on ``date``; for a charge
    that failed, ``date`` is the next attempt. ``card_last4`` names the card to be charged."""

    kind: NoticeKind
    amount_cents: int
    date: dt.date
    card_last4: str | None = None


Notify = Callable[[Session, Account, Arrangement, Notice], None]
"""Queues a notice in the reviewing transaction (rendered by the caller: ``payments/`` speaks
no language)."""


@dataclass
class RunReport:
    reminded: int = 0
    charged: int = 0
    declined: int = 0
    kept: int = 0
    broken: int = 0

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def __str__(self) -> str:
        return ", ".join(f"{getattr(self, f.name)} {f.name}" for f in fields(self))


@dataclass(frozen=True)
class _Charge:
    payment_id: int
    token: str


def card_on_file(session: Session, account_id: int, gateway: str, until: dt.date) -> Payment | None:
    """The latest approved payment whose stored card this gateway can charge until ``until``.

    A token from another gateway (e.g. a ``<Pay>`` connector's) or a card expiring before the
    last installment would only fail later, so the caller is asked to pay instead.
    """
    query = (
        select(Payment)
        .where(
            Payment.account_id == account_id,
            Payment.status == PaymentStatus.APPROVED,
            Payment.gateway == gateway,
            Payment.gateway_token.is_not(None),
        )
        .order_by(Payment.created_at.desc(), Payment.id.desc())
    )
    for payment in session.scalars(query):
        if payment.exp_year is None or payment.exp_month is None:
            return payment
        if (payment.exp_year, payment.exp_month) >= (until.year, until.month):
            return payment
    return None


def _paid_since(session: Session, account_id: int, since: dt.datetime) -> int:
    query = select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
        Payment.account_id == account_id,
        Payment.status == PaymentStatus.APPROVED,
        Payment.created_at >= since,
    )
    return int(session.scalar(query) or 0)


def counted_toward(session: Session, account: Account, arrangement: Arrangement) -> int:
    """What meets an arrangement's installments: payments approved on the account since it was
    made, plus any amount now in dispute (held, so not due)."""
    paid = _paid_since(session, account.id, arrangement.created_at)
    return paid + held_cents(session, account.id)


@dataclass(frozen=True)
class Due:
    """A plan's next installment as the caller hears it: what is still short of it, by when."""

    amount_cents: int
    date: dt.date


def next_due(session: Session, account: Account) -> Due | None:
    """The active plan's first unmet installment (None: no plan, or nothing owed any more), as
    :func:`run` will judge it: paying it keeps the promise."""
    plan = session.scalars(
        select(Arrangement).where(
            Arrangement.account_id == account.id,
            Arrangement.status == ArrangementStatus.ACTIVE,
            Arrangement.kind == ArrangementKind.INSTALLMENTS,
        )
    ).first()
    if plan is None or owed_cents(session, account) <= 0:
        return None
    paid, promised = counted_toward(session, account, plan), 0
    for installment in plan.installments:
        promised += installment.amount_cents
        if installment.status is InstallmentStatus.SCHEDULED and paid < promised:
            return Due(min(installment.amount_cents, promised - paid), installment.due_date)
    return None


def _close(
    session: Session,
    arrangement: Arrangement,
    account: Account,
    status: ArrangementStatus,
    now: dt.datetime,
    missed: ArrangementInstallment | None = None,
    shortfall: int = 0,
) -> None:
    arrangement.status = status
    arrangement.closed_at = now
    installment = missed.number if missed else None
    audit.record(
        session,
        f"arrangement.{status.value}",
        actor="promises",
        outcome=status.value,
        resource=f"arrangement:{arrangement.id}",
        account=account.number,
        installment=installment,
        shortfall_cents=shortfall,
    )
    logs.event(
        log,
        f"arrangement.{status.value}",
        arrangement=arrangement.id,
        installment=installment or "-",
        shortfall_cents=shortfall,
    )


class _Review:
    """One arrangement, locked, in one transaction: what is met, due, reminded, broken."""

    def __init__(
        self,
        session: Session,
        policy: PromisePolicy,
        arrangement: Arrangement,
        now: dt.datetime,
        notify: Notify,
        report: RunReport,
    ) -> None:
        self.session, self.policy, self.now = session, policy, now
        self.arrangement, self.notify, self.report = arrangement, notify, report
        self.account = ledger.lock_account(session, arrangement.account_id)
        self.today = self.account.local_date(now)
        self.card = (
            session.get(Payment, arrangement.card_payment_id)
            if arrangement.card_payment_id
            else None
        )

    def _tell(self, kind: NoticeKind, amount: int, date: dt.date) -> None:
        card = self.card.last4 if self.card else None
        self.notify(self.session, self.account, self.arrangement, Notice(kind, amount, date, card))

    def _break(self, installment: ArrangementInstallment, shortfall: int) -> None:
        installment.status = InstallmentStatus.MISSED
        installment.settled_at = self.now
        _close(
            self.session,
            self.arrangement,
            self.account,
            ArrangementStatus.BROKEN,
            self.now,
            installment,
            shortfall,
        )
        self._tell(NoticeKind.BROKEN, shortfall, installment.due_date)
        self.report.broken += 1

    def run(self) -> _Charge | None:
        """Bring the arrangement up to date; a charge to make (outside any lock) or None."""
        arrangement = self.arrangement
        paid = counted_toward(self.session, self.account, arrangement)
        nothing_owed = owed_cents(self.session, self.account) <= 0
        promised, open_ = 0, []
        for installment in arrangement.installments:
            promised += installment.amount_cents
            if installment.status is not InstallmentStatus.SCHEDULED:
                continue
            if nothing_owed or paid >= promised:
                installment.status = InstallmentStatus.PAID
                installment.settled_at = self.now
            else:
                open_.append((installment, promised - paid))
        if not open_:
            _close(self.session, arrangement, self.account, ArrangementStatus.KEPT, self.now)
            self._tell(NoticeKind.KEPT, arrangement.amount_cents, self.today)
            self.report.kept += 1
            return None
        self._remind(open_)
        installment, shortfall = open_[0]
        if self.today < installment.due_date:
            return None
        if self.card is None or not self.card.gateway_token:
            if self.today > installment.due_date:
                self._break(installment, shortfall)
            return None
        return self._charge(installment, shortfall, self.card.gateway_token)

    def _remind(self, unmet: list[tuple[ArrangementInstallment, int]]) -> None:
        """Each unmet date inside its window, once; the amount is what is still short of it."""
        if not self.policy.reminder_days:
            return
        for installment, shortfall in unmet:
            start = installment.due_date - dt.timedelta(days=self.policy.reminder_days)
            if installment.reminded_at is None and start <= self.today < installment.due_date:
                installment.reminded_at = self.now
                short = min(installment.amount_cents, shortfall)
                self._tell(NoticeKind.REMINDER, short, installment.due_date)
                self.report.reminded += 1

    def _charge(
        self, installment: ArrangementInstallment, shortfall: int, token: str
    ) -> _Charge | None:
        if installment.payment_id is not None:
            return self._after_attempt(installment, shortfall, token)
        if installment.next_attempt_on is not None and self.today < installment.next_attempt_on:
            return None
        assert self.card is not None
        amount = min(shortfall, owed_cents(self.session, self.account))
        key = f"arrangement:{self.arrangement.id}:{installment.number}:{installment.attempts + 1}"
        try:
            payment = ledger.begin(
                self.session,
                ledger.NewPayment(
                    account_id=self.account.id,
                    amount_cents=amount,
                    fee_cents=0,
                    idempotency_key=key,
                    channel=CHANNEL,
                    session_sid=None,
                    gateway=self.card.gateway,
                    brand=self.card.brand,
                    last4=self.card.last4,
                ),
                allow_overpayment=False,
                declines=None,  # the plan's own stored card: no one is testing cards here
            )
        except ledger.PaymentRefusedError:
            # The caller is paying right now; the next run sees whether that met the promise.
            return None
        installment.payment_id = payment.id
        self.report.charged += 1
        return _Charge(payment.id, token)

    def _after_attempt(
        self, installment: ArrangementInstallment, shortfall: int, token: str
    ) -> _Charge | None:
        """The installment's last charge: re-ask if pending, wait if unknown, count a failure."""
        payment = self.session.get(Payment, installment.payment_id)
        assert payment is not None
        if payment.status is PaymentStatus.PENDING:
            return _Charge(payment.id, token)
        if payment.status is PaymentStatus.UNKNOWN:
            return None  # ivr reconcile settles it; charging again could charge twice
        installment.payment_id = None
        installment.attempts += 1  # the next attempt needs its own idempotency key
        if payment.status is PaymentStatus.APPROVED:
            return None  # approved, yet less than promised (a new bill): the next run charges
        self.report.declined += 1
        if installment.attempts >= self.policy.attempts:
            self._break(installment, shortfall)
            return None
        retry = self.today + dt.timedelta(days=self.policy.retry_days)
        installment.next_attempt_on = retry
        self._tell(NoticeKind.CHARGE_FAILED, shortfall, retry)
        return None


def review(
    factory: sessionmaker[Session],
    payments: PaymentService,
    policy: PromisePolicy,
    arrangement_id: int,
    now: dt.datetime,
    notify: Notify,
    report: RunReport,
) -> None:
    """Bring one arrangement up to date, making each charge it needs outside any lock."""
    while True:
        with transaction(factory) as session:
            arrangement = lock_row(session, Arrangement, arrangement_id)
            if arrangement is None or arrangement.status is not ArrangementStatus.ACTIVE:
                return
            charge = _Review(session, policy, arrangement, now, notify, report).run()
        if charge is None:
            return
        settled = payments.authorize(Authorize(charge.payment_id, SavedCard(charge.token)), now)
        logs.event(
            log,
            "installment.charge",
            arrangement=arrangement_id,
            payment=settled.id,
            status=settled.status.value,
        )
        if settled.status not in ledger.SETTLED:
            return


def run(
    factory: sessionmaker[Session],
    payments: PaymentService,
    policy: PromisePolicy,
    now: dt.datetime,
    notify: Notify,
) -> RunReport:
    """Review every active arrangement with an unmet date inside the reminder window (or past);
    safe to run as often, and from as many hosts, as wanted.

    Arrangements whose next date is further off are left alone, so that ``ivr worker`` can run
    this every few seconds without locking every account; one paid off early is therefore
    marked kept when its next date comes near.
    """
    # A day's margin: the window is counted in each account's own time zone.
    horizon = now.date() + dt.timedelta(days=policy.reminder_days + 1)
    query = (
        select(Arrangement.id)
        .join(ArrangementInstallment)
        .where(
            Arrangement.status == ArrangementStatus.ACTIVE,
            ArrangementInstallment.status == InstallmentStatus.SCHEDULED,
            ArrangementInstallment.due_date <= horizon,
        )
        .distinct()
        .order_by(Arrangement.id)
    )
    with transaction(factory) as session:
        active = list(session.scalars(query))
    report = RunReport()
    for arrangement_id in active:
        review(factory, payments, policy, arrangement_id, now, notify, report)
    return report
