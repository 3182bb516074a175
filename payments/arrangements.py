"""Payment arrangements: who may have more time, what may be offered, and writing the promise.

The rules are pure functions of the account, its arrangement history and ``today`` (the
account's local date), so they are tested at their edges without a database and every channel
offers exactly the same thing. :func:`create` re-evaluates them under the account lock, so a
flow can never write terms that policy (or a second call racing this one) no longer allows.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr import audit
from ivr.config import ConfigError, Settings
from ivr.models import (
    Account,
    AccountStatus,
    Arrangement,
    ArrangementInstallment,
    ArrangementKind,
    ArrangementStatus,
    Payment,
    PaymentStatus,
)
from payments.business_days import BusinessDays
from payments.confirmation import new_confirmation_number
from payments.disputes import owed_cents
from payments.ledger import lock_account, number_taken
from payments.promises import card_on_file


class Refusal(StrEnum):
    """Why nothing (or not installments) can be offered; each has its own sentence."""

    NOT_ELIGIBLE_STATUS = "not_eligible_status"
    DISCONNECTED = "disconnected"
    NOTHING_DUE = "nothing_due"
    TOO_FAR_PAST_DUE = "too_far_past_due"
    BROKEN_PROMISE = "broken_promise"
    RECENT_ARRANGEMENT = "recent_arrangement"
    NOTHING_TO_OFFER = "nothing_to_offer"


class DateError(StrEnum):
    """Why a keyed MMDD date cannot be the new due date."""

    INVALID = "invalid"
    PAST = "past"
    NOT_LATER = "not_later"
    NOT_BUSINESS_DAY = "not_business_day"
    TOO_LATE = "too_late"


@dataclass(frozen=True)
class ArrangementPolicy:
    """The configured rules (see docs/configuration.md)."""

    statuses: frozenset[AccountStatus]
    extension_max_days: int
    max_days_past_due: int
    window_days: int
    max_in_window: int
    max_broken: int
    installments_min: int
    installments_max: int
    installment_min_cents: int
    down_payment_percent: int
    reconnection_fee_cents: int
    calendar: BusinessDays
    first_installment_days: int = 14
    """How many days out a plan's first installment falls at the soonest (then the business day
    on or after): never tomorrow, nor the day after a down payment taken today, so the caller
    has time to plan for it."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ArrangementPolicy:
        try:
            statuses = frozenset(
                AccountStatus(name.strip())
                for name in settings.ARRANGEMENT_STATUSES.split(",")
                if name.strip()
            )
        except ValueError as error:
            raise ConfigError(f"ARRANGEMENT_STATUSES: {error}") from None
        if not 2 <= settings.INSTALLMENTS_MIN <= settings.INSTALLMENTS_MAX <= 9:
            # One key per plan: a caller presses the number of payments.
            raise ConfigError("INSTALLMENTS_MIN and INSTALLMENTS_MAX must be 2 to 9, min <= max.")
        if not 0 <= settings.DOWN_PAYMENT_PERCENT < 100:
            raise ConfigError("DOWN_PAYMENT_PERCENT must be 0 to 99.")
        return cls(
            statuses=statuses,
            extension_max_days=settings.EXTENSION_MAX_DAYS,
            max_days_past_due=settings.EXTENSION_MAX_DAYS_PAST_DUE,
            window_days=settings.ARRANGEMENT_WINDOW_DAYS,
            max_in_window=settings.MAX_ARRANGEMENTS_IN_WINDOW,
            max_broken=settings.MAX_BROKEN_PROMISES,
            installments_min=settings.INSTALLMENTS_MIN,
            installments_max=settings.INSTALLMENTS_MAX,
            installment_min_cents=settings.INSTALLMENT_MIN_CENTS,
            down_payment_percent=settings.DOWN_PAYMENT_PERCENT,
            reconnection_fee_cents=settings.RECONNECTION_FEE_CENTS,
            calendar=BusinessDays.from_setting(settings.HOLIDAY_CALENDAR),
        )


@dataclass(frozen=True)
class Installment:
    date: dt.date
    amount_cents: int


@dataclass(frozen=True)
class Terms:
    """One concrete promise: what is owed, by when, in which payments."""

    kind: ArrangementKind
    amount_cents: int
    schedule: tuple[Installment, ...]
    down_payment_cents: int = 0

    @property
    def final_date(self) -> dt.date:
        return self.schedule[-1].date


@dataclass(frozen=True)
class Offers:
    """What this account may choose. ``earliest``/``latest`` bound an extension's new date
    (None when no extension fits); ``plans`` are the installment plans offered by keypad, each
    starting with ``down_payment_cents`` taken by card before the plan is written; a chosen
    date must be one of ``calendar``'s business days."""

    amount_cents: int
    earliest: dt.date | None
    latest: dt.date | None
    plans: tuple[Terms, ...]
    down_payment_cents: int
    calendar: BusinessDays


@dataclass(frozen=True)
class Refused:
    reason: Refusal
    reconnect_cents: int = 0
    """For a disconnected account: balance plus the reconnection fee."""


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day of the month, clamped to the month's end (Jan 31 + 1 month = Feb 28/29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def days_past_due(account: Account, today: dt.date) -> int:
    if account.due_date is None or account.due_date >= today:
        return 0
    return (today - account.due_date).days


def reconnect_cents(policy: ArrangementPolicy, owed_cents: int) -> int:
    return max(owed_cents, 0) + policy.reconnection_fee_cents


def refusal(
    policy: ArrangementPolicy,
    account: Account,
    history: Sequence[Arrangement],
    today: dt.date,
    owed_cents: int | None = None,
) -> Refused | None:
    """The first rule the account fails, in the order a caller would find most useful.

    ``owed_cents`` is what an arrangement may cover: the balance unless the caller says
    otherwise (amounts in dispute are held out of it)."""
    owed = account.balance_cents if owed_cents is None else owed_cents
    if account.status is AccountStatus.DISCONNECTED:
        return Refused(Refusal.DISCONNECTED, reconnect_cents(policy, owed))
    if account.status not in policy.statuses:
        return Refused(Refusal.NOT_ELIGIBLE_STATUS)
    if owed <= 0:
        return Refused(Refusal.NOTHING_DUE)
    if days_past_due(account, today) > policy.max_days_past_due:
        return Refused(Refusal.TOO_FAR_PAST_DUE)
    broken = sum(1 for a in history if a.status is ArrangementStatus.BROKEN)
    if broken > policy.max_broken:
        return Refused(Refusal.BROKEN_PROMISE)
    since = today - dt.timedelta(days=policy.window_days)
    recent = sum(
        1
        for a in history
        if a.status is not ArrangementStatus.CANCELLED and account.local_date(a.created_at) > since
    )
    if recent >= policy.max_in_window:
        return Refused(Refusal.RECENT_ARRANGEMENT)
    return None


def _start(account: Account, today: dt.date) -> dt.date:
    """The date an extension counts from: the due date, or today when that has passed."""
    return max(account.due_date or today, today)


def latest_extension(policy: ArrangementPolicy, account: Account, today: dt.date) -> dt.date | None:
    """Start + the maximum days, moved back to a business day; None if that gains nothing."""
    start = _start(account, today)
    latest = policy.calendar.on_or_before(start + dt.timedelta(days=policy.extension_max_days))
    return latest if latest > start else None


def split(amount_cents: int, count: int) -> list[int]:
    """Equal parts adding up exactly to ``amount_cents``; the odd cents go on the first."""
    part, remainder = divmod(amount_cents, count)
    return [part + remainder] + [part] * (count - 1)


def down_payment(policy: ArrangementPolicy, amount_cents: int) -> int:
    """The policy's percentage, rounded up to the cent."""
    return -(-amount_cents * policy.down_payment_percent // 100)


def installment_plans(
    policy: ArrangementPolicy, amount_cents: int, today: dt.date
) -> tuple[Terms, ...]:
    """Every allowed plan: monthly from the first business day at least
    ``first_installment_days`` out, each payment at least the minimum.

    Later dates that land on a weekend or holiday move back to the business day before, so a
    plan never asks for later than the calendar promised.
    """
    down = down_payment(policy, amount_cents)
    rest = amount_cents - down
    first = policy.calendar.after(today + dt.timedelta(days=policy.first_installment_days - 1))
    plans = []
    for count in range(policy.installments_min, policy.installments_max + 1):
        if rest // count < policy.installment_min_cents:
            break
        dates = [policy.calendar.on_or_before(add_months(first, k)) for k in range(count)]
        schedule = tuple(Installment(d, a) for d, a in zip(dates, split(rest, count), strict=True))
        plans.append(Terms(ArrangementKind.INSTALLMENTS, amount_cents, schedule, down))
    return tuple(plans)


def offers(
    policy: ArrangementPolicy,
    account: Account,
    history: Sequence[Arrangement],
    today: dt.date,
    owed_cents: int | None = None,
) -> Offers | Refused:
    """What policy allows this account today, or why it allows nothing (see :func:`refusal`
    for ``owed_cents``)."""
    refused = refusal(policy, account, history, today, owed_cents)
    if refused is not None:
        return refused
    amount = account.balance_cents if owed_cents is None else owed_cents
    latest = latest_extension(policy, account, today)
    plans = installment_plans(policy, amount, today)
    if latest is None and not plans:
        return Refused(Refusal.NOTHING_TO_OFFER)
    down = down_payment(policy, amount) if plans else 0
    earliest = _start(account, today) + dt.timedelta(days=1) if latest else None
    return Offers(amount, earliest, latest, plans, down, policy.calendar)


def parse_date(keys: str, today: dt.date) -> dt.date | None:
    """Keyed MMDD in the year that puts it nearest ``today`` (0105 in December is next January;
    0229 outside a leap year is not a date, rather than a date years away)."""
    if len(keys) != 4 or not (keys.isascii() and keys.isdigit()):
        return None
    month, day = int(keys[:2]), int(keys[2:])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    years = (today.year - 1, today.year, today.year + 1)
    year = min(years, key=lambda y: abs((dt.date(y, month, 1) - today.replace(day=1)).days))
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def check_date(keys: str, offer: Offers, today: dt.date) -> dt.date | DateError:
    """An earlier extension date: real, after the current due date and today, a business day,
    not later than the latest allowed."""
    day = parse_date(keys, today)
    if day is None:
        return DateError.INVALID
    if day <= today:
        return DateError.PAST
    if offer.earliest is None or offer.latest is None or day < offer.earliest:
        return DateError.NOT_LATER
    if not offer.calendar.is_business_day(day):
        return DateError.NOT_BUSINESS_DAY
    if day > offer.latest:
        return DateError.TOO_LATE
    return day


@dataclass(frozen=True)
class Extension:
    date: dt.date


@dataclass(frozen=True)
class Plan:
    count: int


Choice = Extension | Plan


def terms_for(choice: Choice, offer: Offers) -> Terms | None:
    """The terms ``choice`` stands for, or None if the offer does not include it."""
    if isinstance(choice, Plan):
        return next((p for p in offer.plans if len(p.schedule) == choice.count), None)
    ok = offer.earliest and offer.latest and offer.earliest <= choice.date <= offer.latest
    if not ok or not offer.calendar.is_business_day(choice.date):
        return None
    schedule = (Installment(choice.date, offer.amount_cents),)
    return Terms(ArrangementKind.EXTENSION, offer.amount_cents, schedule)


def history(session: Session, account_id: int) -> list[Arrangement]:
    query = select(Arrangement).where(Arrangement.account_id == account_id)
    return list(session.scalars(query.order_by(Arrangement.id)))


class ArrangementRefusedError(Exception):
    """Policy no longer allows the choice (another call made an arrangement meanwhile)."""

    def __init__(self, refused: Refused) -> None:
        super().__init__(refused.reason.value)
        self.refused = refused


OnCreated = Callable[[Session, Account, Arrangement, Terms], None]
"""Called in the creating transaction; receipts go to the outbox here (rendered by the caller,
since ``payments/`` speaks no language)."""


@dataclass(frozen=True)
class Origin:
    actor: str
    origin: str | None = None


def create(
    session: Session,
    policy: ArrangementPolicy,
    account_id: int,
    choice: Choice,
    *,
    now: dt.datetime,
    by: Origin,
    card_gateway: str | None = None,
    down_payment: Payment | None = None,
    on_created: OnCreated | None = None,
) -> Arrangement:
    """Write the arrangement, move the due date for an extension, audit it, queue receipts.

    An extension changes only ``due_date``: the balance and minimum due are what is owed and
    stay as billed. A plan changes nothing on the account; its schedule lives on the row, and
    its installments are charged to the card on file that ``card_gateway`` can charge until
    the last of them (see :func:`payments.promises.card_on_file`), otherwise the caller pays.
    A plan that needs a down payment is written only with its approved ``down_payment``, which
    already lowered the balance: policy is evaluated as it was when the caller heard the terms,
    and its card (the latest on file) pays the installments.
    """
    account = lock_account(session, account_id)
    today = account.local_date(now)
    owed = owed_cents(session, account)
    if down_payment is not None:
        if down_payment.status is not PaymentStatus.APPROVED:
            raise ArrangementRefusedError(Refused(Refusal.NOTHING_TO_OFFER))
        owed += down_payment.amount_cents
    offer = offers(policy, account, history(session, account_id), today, owed)
    if isinstance(offer, Refused):
        raise ArrangementRefusedError(offer)
    terms = terms_for(choice, offer)
    paid_down = down_payment.amount_cents if down_payment else 0
    if terms is None or paid_down != terms.down_payment_cents:
        raise ArrangementRefusedError(Refused(Refusal.NOTHING_TO_OFFER))
    card = None
    if card_gateway is not None and terms.kind is ArrangementKind.INSTALLMENTS:
        card = card_on_file(session, account.id, card_gateway, terms.final_date)
    arrangement = Arrangement(
        account_id=account.id,
        kind=terms.kind,
        status=ArrangementStatus.ACTIVE,
        confirmation_number=new_confirmation_number(number_taken(session)),
        amount_cents=terms.amount_cents,
        due_date=terms.final_date,
        schedule=[
            {"date": i.date.isoformat(), "amount_cents": i.amount_cents} for i in terms.schedule
        ],
        created_at=now,
        card_payment_id=card.id if card else None,
        installments=[
            ArrangementInstallment(number=n, due_date=i.date, amount_cents=i.amount_cents)
            for n, i in enumerate(terms.schedule, start=1)
        ],
    )
    session.add(arrangement)
    previous_due = account.due_date
    if terms.kind is ArrangementKind.EXTENSION:
        account.due_date = terms.final_date
    session.flush()
    audit.record(
        session,
        f"arrangement.{terms.kind.value}",
        actor=by.actor,
        outcome="created",
        resource=f"arrangement:{arrangement.id}",
        origin=by.origin,
        account=account.number,
        amount_cents=terms.amount_cents,
        payments=len(terms.schedule),
        previous_due=previous_due.isoformat() if previous_due else None,
        final_date=terms.final_date.isoformat(),
        card_payment=arrangement.card_payment_id,
        down_payment=down_payment.id if down_payment else None,
    )
    if on_created is not None:
        on_created(session, account, arrangement, terms)
    return arrangement
