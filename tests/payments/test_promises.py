"""Promises over time (payments/promises.py) on both databases: installment charges with the
stored card, retries, reminders, kept and broken arrangements, and policy seeing a break.

Time is what the code is given (``now``), never the clock; the gateway is the embedded sandbox,
wrapped at its boundary where a test needs it to decline or to fail.
"""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from ivr.channels.arrangement_notices import promise_notices
from ivr.channels.services import build_payments
from ivr.config import ConfigError, Settings
from ivr.db import transaction
from ivr.models import (
    Account,
    Arrangement,
    ArrangementInstallment,
    ArrangementStatus,
    InstallmentStatus,
    OutboxMessage,
    Payment,
    PaymentStatus,
)
from payments import arrangements as rules
from payments import disputes, ledger, promises
from payments.arrangements import ArrangementPolicy, ArrangementRefusedError, Extension, Plan
from payments.gateways import (
    Card,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    DeclineReason,
    GatewayTimeout,
    StoredCard,
)
from payments.gateways.sandbox import SandboxGateway
from payments.gateways.sandbox_tables import SandboxCharge
from tests.support.factories import add_account, balance

MADE = dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)  # Saturday, 10:00 in New York
# A plan made then: the first installment two weeks out (Monday), then monthly (7 February 2027
# is a Sunday).
FIRST, SECOND, THIRD = dt.date(2026, 12, 7), dt.date(2027, 1, 7), dt.date(2027, 2, 5)
BY = rules.Origin("test")
LIMITS = ledger.DeclineLimits(per_session=3, per_account=5)


def at(day: dt.date, hour: int = 15) -> dt.datetime:
    """``hour`` UTC on ``day`` (15:00 UTC is 10:00 in New York, the same calendar day)."""
    return dt.datetime.combine(day, dt.time(hour), dt.UTC)


class DeclinesStored(SandboxGateway):
    """The sandbox, but the first ``declines`` stored-card charges come back insufficient."""

    def __init__(self, factory, declines: int) -> None:
        super().__init__(factory)
        self.declines = declines

    def charge(self, request: ChargeRequest) -> ChargeResult:
        if isinstance(request.card, StoredCard) and self.declines > 0:
            self.declines -= 1
            return ChargeResult(ChargeStatus.DECLINED, None, None, DeclineReason.INSUFFICIENT_FUNDS)
        return super().charge(request)


class CrashAfterCharge(SandboxGateway):
    """The process dies once right after the gateway approved: the answer never reaches us."""

    crashed = False

    def charge(self, request: ChargeRequest) -> ChargeResult:
        result = super().charge(request)
        if not self.crashed:
            self.crashed = True
            raise SystemError("killed between the gateway's approval and our commit")
        return result


class TimesOut(SandboxGateway):
    def charge(self, request: ChargeRequest) -> ChargeResult:
        super().charge(request)
        raise GatewayTimeout("answer lost")


@pytest.fixture
def keeper(settings: Settings, standalone_factory):
    """Runs promises with a chosen gateway (the plain sandbox by default)."""

    def run(now: dt.datetime, gateway=None, **overrides):
        configured = settings.replace(**overrides)
        service = build_payments(configured, standalone_factory, gateway)
        policy = promises.PromisePolicy.from_settings(configured)
        notify = promise_notices(configured.COMPANY_NAME)
        return promises.run(standalone_factory, service, policy, now, notify)

    return run


pytestmark = pytest.mark.ada(due_date="2026-12-01")


def card_on_file(factory, account: Account, number: str = "4242424242424242") -> int:
    """An approved earlier payment whose card the sandbox holds (as a call would leave it)."""
    card = Card(number, 12, 2030, "739", "94105")
    token = SandboxGateway(factory).charge(ChargeRequest(f"earlier-{account.id}", 100, card)).token
    with transaction(factory) as session:
        payment = Payment(
            account_id=account.id,
            amount_cents=100,
            status=PaymentStatus.APPROVED,
            idempotency_key=f"earlier-{account.id}",
            confirmation_number="5005550100",
            channel="voice",
            gateway="sandbox",
            gateway_token=token,
            brand="visa",
            last4="4242",
            exp_month=12,
            exp_year=2030,
            created_at=MADE - dt.timedelta(days=3),
        )
        session.add(payment)
        session.flush()
        return payment.id


def arrange(factory, account: Account, choice, card: int | None = None, now=MADE) -> int:
    policy = ArrangementPolicy.from_settings(Settings())
    with transaction(factory) as session:
        made = rules.create(
            session,
            policy,
            account.id,
            choice,
            now=now,
            by=BY,
            card_gateway="sandbox" if card else None,
        )
        return made.id


def pay(factory, account: Account, cents: int, now: dt.datetime, key: str = "by-phone") -> None:
    """A payment the caller made some other way (a call), settled as approved."""
    new = ledger.NewPayment(account.id, cents, 0, key, "voice", "CA1", "sandbox", "visa", "4242")
    with transaction(factory) as session:
        payment = ledger.begin(session, new, allow_overpayment=False, declines=LIMITS)
        payment.created_at = now
        ledger.settle(session, payment.id, ChargeResult(ChargeStatus.APPROVED, "ref", "tok"))


def state(db, arrangement_id: int):
    db.rollback()
    arrangement = db.get(Arrangement, arrangement_id, populate_existing=True)
    rows = db.scalars(
        select(ArrangementInstallment)
        .where(ArrangementInstallment.arrangement_id == arrangement_id)
        .order_by(ArrangementInstallment.number)
    ).all()
    return arrangement.status, [row.status for row in rows]


def stored_charges(db) -> list[str]:
    db.rollback()
    keys = db.scalars(select(SandboxCharge.idempotency_key).order_by(SandboxCharge.created_at))
    return [key for key in keys if key.startswith("arrangement:")]


def bodies(db) -> list[str]:
    db.rollback()
    query = select(OutboxMessage).where(OutboxMessage.channel == "sms").order_by(OutboxMessage.id)
    return [message.body for message in db.scalars(query)]


S, P, M = InstallmentStatus.SCHEDULED, InstallmentStatus.PAID, InstallmentStatus.MISSED


# --- installments charged to the card on file ---------------------------------------------


def test_an_installment_is_charged_on_its_date_once(db, standalone_factory, keeper, ada):
    plan = arrange(standalone_factory, ada, Plan(3), card_on_file(standalone_factory, ada))

    assert keeper(at(FIRST - dt.timedelta(days=1))).charged == 0
    report = keeper(at(FIRST))
    again = keeper(at(FIRST, 20))

    assert (report.charged, again.charged) == (1, 0)
    assert state(db, plan) == (ArrangementStatus.ACTIVE, [P, S, S])
    assert balance(db, ada) == 14250 - 4750
    assert stored_charges(db) == [f"arrangement:{plan}:1:1"]
    payment = db.scalar(select(Payment).where(Payment.channel == "plan"))
    assert (payment.status, payment.brand, payment.last4) == (
        PaymentStatus.APPROVED,
        "visa",
        "4242",
    )


def test_every_installment_paid_keeps_the_promise(db, standalone_factory, keeper, ada):
    plan = arrange(standalone_factory, ada, Plan(3), card_on_file(standalone_factory, ada))
    for day in (FIRST, SECOND, THIRD):
        keeper(at(day))
    assert state(db, plan) == (ArrangementStatus.KEPT, [P, P, P])
    assert balance(db, ada) == 0
    assert len(stored_charges(db)) == 3
    assert any("is complete" in body for body in bodies(db))


def test_a_run_after_weeks_down_catches_up_in_order(db, standalone_factory, keeper, ada):
    plan = arrange(standalone_factory, ada, Plan(3), card_on_file(standalone_factory, ada))
    report = keeper(at(SECOND + dt.timedelta(days=2)))
    assert report.charged == 2
    assert state(db, plan) == (ArrangementStatus.ACTIVE, [P, P, S])


def test_a_declined_installment_is_retried_days_later(db, standalone_factory, keeper, ada):
    plan = arrange(standalone_factory, ada, Plan(3), card_on_file(standalone_factory, ada))
    gateway = DeclinesStored(standalone_factory, declines=1)

    first = keeper(at(FIRST), gateway)
    assert (first.charged, first.declined) == (1, 1)
    assert state(db, plan) == (ArrangementStatus.ACTIVE, [S, S, S])
    retry_on = FIRST + dt.timedelta(days=3)
    assert any(
        "could not charge your card ending 4242" in body and retry_on.strftime("%m/%d/%Y") in body
        for body in bodies(db)
    )
    assert keeper(at(retry_on - dt.timedelta(days=1)), gateway).charged == 0

    second = keeper(at(retry_on), gateway)
    assert (second.charged, second.declined) == (1, 0)
    assert state(db, plan) == (ArrangementStatus.ACTIVE, [P, S, S])
    assert balance(db, ada) == 14250 - 4750
    assert stored_charges(db) == [f"arrangement:{plan}:1:2"]  # the sandbox never saw the decline


def test_the_last_failed_attempt_breaks_the_promise_and_policy_sees_it(
    db, standalone_factory, keeper, ada
):
    plan = arrange(standalone_factory, ada, Plan(3), card_on_file(standalone_factory, ada))
    gateway = DeclinesStored(standalone_factory, declines=99)
    day = FIRST
    for _ in range(2):
        keeper(at(day), gateway, INSTALLMENT_ATTEMPTS=2, INSTALLMENT_RETRY_DAYS=2)
        day += dt.timedelta(days=2)
    assert state(db, plan) == (ArrangementStatus.BROKEN, [M, S, S])
    assert keeper(at(day), gateway).total == 0  # a broken arrangement is left alone
    assert balance(db, ada) == 14250
    assert any("was not kept" in body for body in bodies(db))

    policy = ArrangementPolicy.from_settings(Settings().replace(ARRANGEMENT_WINDOW_DAYS=1))
    with transaction(standalone_factory) as session, pytest.raises(ArrangementRefusedError) as no:
        rules.create(session, policy, ada.id, Plan(2), now=at(day), by=BY)
    assert no.value.refused.reason is rules.Refusal.BROKEN_PROMISE


def test_a_crash_after_the_charge_is_settled_by_the_next_run_without_a_second_charge(
    db, standalone_factory, keeper, ada
):
    plan = arrange(standalone_factory, ada, Plan(3), card_on_file(standalone_factory, ada))
    gateway = CrashAfterCharge(standalone_factory)
    with pytest.raises(SystemError):
        keeper(at(FIRST), gateway)
    db.rollback()
    assert db.scalar(select(Payment.status).where(Payment.channel == "plan")) is (
        PaymentStatus.PENDING
    )

    keeper(at(FIRST, 16), gateway)

    assert state(db, plan) == (ArrangementStatus.ACTIVE, [P, S, S])
    assert stored_charges(db) == [f"arrangement:{plan}:1:1"]
    assert balance(db, ada) == 14250 - 4750


def test_a_charge_whose_outcome_is_unknown_is_left_to_reconcile(
    db, settings, standalone_factory, keeper, ada
):
    plan = arrange(standalone_factory, ada, Plan(3), card_on_file(standalone_factory, ada))
    keeper(at(FIRST), TimesOut(standalone_factory))
    keeper(at(FIRST, 16), TimesOut(standalone_factory))
    db.rollback()
    [payment] = db.scalars(select(Payment).where(Payment.channel == "plan")).all()
    assert payment.status is PaymentStatus.UNKNOWN
    assert stored_charges(db) == [f"arrangement:{plan}:1:1"]

    build_payments(settings, standalone_factory).reconcile_one(payment.id)
    keeper(at(FIRST, 17))
    assert state(db, plan) == (ArrangementStatus.ACTIVE, [P, S, S])
    assert stored_charges(db) == [f"arrangement:{plan}:1:1"]


def test_paying_early_by_phone_means_no_scheduled_charge(db, standalone_factory, keeper, ada):
    plan = arrange(standalone_factory, ada, Plan(3), card_on_file(standalone_factory, ada))
    pay(standalone_factory, ada, 5000, at(FIRST - dt.timedelta(days=1)))
    keeper(at(FIRST))
    assert state(db, plan) == (ArrangementStatus.ACTIVE, [P, S, S])
    assert stored_charges(db) == []


def test_a_second_installment_is_charged_only_what_is_still_short(
    db, standalone_factory, keeper, ada
):
    arrange(standalone_factory, ada, Plan(3), card_on_file(standalone_factory, ada))
    keeper(at(FIRST))
    pay(standalone_factory, ada, 1000, at(FIRST + dt.timedelta(days=3)))
    keeper(at(SECOND))
    db.rollback()
    charged = db.scalars(
        select(Payment.amount_cents).where(Payment.channel == "plan").order_by(Payment.id)
    ).all()
    assert charged == [4750, 3750]


# --- reminders ------------------------------------------------------------------------------


def test_a_reminder_goes_out_days_before_each_date_exactly_once(
    db, standalone_factory, keeper, ada
):
    plan = arrange(standalone_factory, ada, Plan(3), card_on_file(standalone_factory, ada))
    # Made two weeks before the first date: a reminder only once inside its window.
    assert keeper(MADE).reminded == 0
    assert keeper(at(FIRST - dt.timedelta(days=3))).reminded == 1
    keeper(at(FIRST))
    before = SECOND - dt.timedelta(days=3)
    assert keeper(at(before - dt.timedelta(days=1))).reminded == 0
    assert keeper(at(before)).reminded == 1
    assert keeper(at(before, 20)).reminded == 0
    assert keeper(at(SECOND - dt.timedelta(days=1))).reminded == 0
    db.rollback()
    texts = [body for body in bodies(db) if "reminder" in body]
    assert len(texts) == 2
    assert texts[1] == (
        "Riverside Utilities: reminder for account ending 0001: $47.50 will be charged to your "
        f"card ending 4242 on 01/07/2027, under payment arrangement "
        f"{db.get(Arrangement, plan).confirmation_number[:3]}-"
        f"{db.get(Arrangement, plan).confirmation_number[3:6]}-"
        f"{db.get(Arrangement, plan).confirmation_number[6:]}."
    )
    emails = db.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email")).all()
    assert sum("reminder" in message.body for message in emails) == 2


def test_no_reminders_when_reminder_days_is_0(db, standalone_factory, keeper, ada):
    arrange(standalone_factory, ada, Plan(3))
    assert keeper(at(SECOND - dt.timedelta(days=1)), REMINDER_DAYS=0).reminded == 0


# --- promises the caller keeps by paying ------------------------------------------------------


def test_an_extension_is_kept_when_paid_by_its_date(db, standalone_factory, keeper, ada):
    extension = arrange(standalone_factory, ada, Extension(dt.date(2026, 12, 15)))
    pay(standalone_factory, ada, 14250, at(dt.date(2026, 12, 14)))
    keeper(at(dt.date(2026, 12, 16)))
    assert state(db, extension) == (ArrangementStatus.KEPT, [P])


def test_an_extension_unpaid_breaks_the_day_after_its_date_in_the_accounts_time_zone(
    db, standalone_factory, keeper, ada
):
    extension = arrange(standalone_factory, ada, Extension(dt.date(2026, 12, 15)))
    reminder = keeper(at(dt.date(2026, 12, 12)))
    assert reminder.reminded == 1
    assert any("$142.50 is due by 12/15/2026" in body for body in bodies(db))
    # 03:00 UTC on the 16th is still the evening of the 15th in New York.
    keeper(at(dt.date(2026, 12, 16), hour=3))
    assert state(db, extension) == (ArrangementStatus.ACTIVE, [S])
    report = keeper(at(dt.date(2026, 12, 16), hour=6))
    assert report.broken == 1
    assert state(db, extension) == (ArrangementStatus.BROKEN, [M])
    assert stored_charges(db) == []


def test_a_plan_without_a_card_is_paid_by_the_caller_and_breaks_on_a_missed_date(
    db, standalone_factory, keeper, ada
):
    plan = arrange(standalone_factory, ada, Plan(2))
    pay(standalone_factory, ada, 7125, at(FIRST))
    keeper(at(FIRST + dt.timedelta(days=1)))
    assert state(db, plan) == (ArrangementStatus.ACTIVE, [P, S])
    second = rules.add_months(FIRST, 1)
    keeper(at(second + dt.timedelta(days=1)))
    assert state(db, plan) == (ArrangementStatus.BROKEN, [P, M])
    assert stored_charges(db) == []


def test_a_balance_cleared_by_the_billing_system_keeps_the_promise(
    db, settings, standalone_factory, keeper, ada
):
    plan = arrange(standalone_factory, ada, Plan(3))
    add_account(db, settings, balance="0.00", minimum_due="0.00")
    keeper(at(FIRST))
    assert state(db, plan) == (ArrangementStatus.KEPT, [P, P, P])


def test_a_card_expiring_before_the_last_installment_is_not_used(db, standalone_factory, ada):
    card = card_on_file(standalone_factory, ada)
    with transaction(standalone_factory) as session:
        session.get(Payment, card).exp_year = 2027
        session.get(Payment, card).exp_month = 1
    with standalone_factory() as session:
        assert promises.card_on_file(session, ada.id, "sandbox", THIRD) is None
        assert promises.card_on_file(session, ada.id, "sandbox", SECOND).id == card
        assert promises.card_on_file(session, ada.id, "stripe", SECOND) is None


@pytest.mark.parametrize(
    "setting", [{"INSTALLMENT_ATTEMPTS": 0}, {"INSTALLMENT_RETRY_DAYS": 0}, {"REMINDER_DAYS": -1}]
)
def test_unusable_promise_settings_are_refused(setting):
    with pytest.raises(ConfigError, match=r"INSTALLMENT|REMINDER"):
        promises.PromisePolicy.from_settings(Settings().replace(**setting))


def test_an_amount_in_dispute_is_neither_charged_nor_missed(db, standalone_factory, keeper, ada):
    plan = arrange(standalone_factory, ada, Plan(3), card_on_file(standalone_factory, ada))
    with transaction(standalone_factory) as session:
        disputes.open_dispute(
            session, ada.id, 12000, disputes.Scope.AMOUNT, channel="voice", session_sid=None,
            actor="caller", now=MADE,
        )  # fmt: skip
    keeper(at(FIRST))
    assert state(db, plan) == (ArrangementStatus.ACTIVE, [P, P, S])
    assert stored_charges(db) == []
    keeper(at(THIRD))
    assert state(db, plan) == (ArrangementStatus.KEPT, [P, P, P])
    db.rollback()
    assert db.scalars(select(Payment.amount_cents).where(Payment.channel == "plan")).all() == [
        14250 - 12000
    ]
    assert balance(db, ada) == 12000


def test_an_arrangement_is_reviewed_only_once_its_next_date_is_near(
    db, standalone_factory, keeper, ada
):
    extension = arrange(standalone_factory, ada, Extension(dt.date(2026, 12, 15)))
    pay(standalone_factory, ada, 14250, MADE)
    assert keeper(MADE).total == 0
    assert state(db, extension) == (ArrangementStatus.ACTIVE, [S])
    assert keeper(at(dt.date(2026, 12, 11))).kept == 1  # 3 reminder days + 1 before the 15th
    assert state(db, extension) == (ArrangementStatus.KEPT, [P])


def test_a_reminder_asks_only_for_what_is_still_short(db, standalone_factory, keeper, ada):
    arrange(standalone_factory, ada, Plan(3))
    pay(standalone_factory, ada, 4750 + 1000, at(FIRST))
    keeper(at(SECOND - dt.timedelta(days=2)))
    assert any("$37.50 is due by 01/07/2027" in body for body in bodies(db))


@pytest.mark.postgres_only
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_hosts_running_at_once_charge_an_installment_once(db, standalone_factory, keeper, ada):
    plan = arrange(standalone_factory, ada, Plan(3), card_on_file(standalone_factory, ada))
    start = threading.Barrier(4)

    def run_now(_: int) -> promises.RunReport:
        start.wait(timeout=30)
        return keeper(at(FIRST))

    with ThreadPoolExecutor(4) as pool:
        reports = list(pool.map(run_now, range(4), timeout=120))

    assert state(db, plan) == (ArrangementStatus.ACTIVE, [P, S, S])
    assert stored_charges(db) == [f"arrangement:{plan}:1:1"]
    assert balance(db, ada) == 14250 - 4750
    assert sum(report.charged for report in reports) == 1


def test_the_next_installment_is_what_is_still_short_of_the_first_unmet_one(
    standalone_factory, ada
):
    arrange(standalone_factory, ada, Plan(3))

    def next_due():
        with transaction(standalone_factory) as session:
            return promises.next_due(session, session.get(Account, ada.id))

    assert next_due() == promises.Due(4750, FIRST)
    pay(standalone_factory, ada, 4750, at(FIRST), key="first")
    assert next_due() == promises.Due(4750, SECOND)
    pay(standalone_factory, ada, 1000, at(FIRST), key="part")
    assert next_due() == promises.Due(3750, SECOND)  # paying early counts
    pay(standalone_factory, ada, 8500, at(FIRST), key="rest")
    assert next_due() is None  # nothing owed: no installment is due
