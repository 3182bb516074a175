"""Arrangement policy at its edges: dates, splits, refusals, and writing the promise."""

import datetime as dt

import pytest
from sqlalchemy import select

from ivr.config import ConfigError, Settings
from ivr.models import (
    Account,
    AccountStatus,
    Arrangement,
    ArrangementKind,
    ArrangementStatus,
    AuditEvent,
    Payment,
    PaymentStatus,
)
from payments import arrangements as rules
from payments.arrangements import (
    ArrangementPolicy,
    ArrangementRefusedError,
    DateError,
    Extension,
    Installment,
    Offers,
    Plan,
    Refusal,
    Refused,
)
from payments.confirmation import is_valid
from tests.support.factories import add_account

TODAY = dt.date(2026, 11, 21)  # a Saturday
POLICY = ArrangementPolicy.from_settings(Settings())


def policy(**settings):
    return ArrangementPolicy.from_settings(Settings().replace(**settings))


def account(due=dt.date(2026, 12, 1), balance=14250, status=AccountStatus.ACTIVE):
    return Account(
        number="70000001",
        status=status,
        balance_cents=balance,
        minimum_due_cents=0,
        due_date=due,
        time_zone="America/New_York",
    )


def past(status=ArrangementStatus.ACTIVE, days_ago=10, today=TODAY):
    created = dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(17), dt.UTC)
    return Arrangement(status=status, created_at=created)


def offer_for(acct, today=TODAY, history=(), rules_=POLICY):
    offer = rules.offers(rules_, acct, list(history), today)
    assert isinstance(offer, Offers), offer
    return offer


# --- the latest date an extension may reach ---------------------------------------------


@pytest.mark.parametrize(
    ("due", "today", "latest"),
    [
        (dt.date(2026, 11, 30), TODAY, dt.date(2026, 12, 14)),  # Monday + 14 is a Monday
        # lands Saturday: back past Friday, New Year's Day, to Thursday
        (dt.date(2026, 12, 19), TODAY, dt.date(2026, 12, 31)),
        (dt.date(2026, 12, 20), TODAY, dt.date(2026, 12, 31)),  # lands Sunday: the same
        (dt.date(2027, 1, 25), dt.date(2027, 1, 4), dt.date(2027, 2, 8)),  # across a month end
        (dt.date(2027, 2, 20), dt.date(2027, 2, 1), dt.date(2027, 3, 5)),  # February, Saturday
        (dt.date(2026, 11, 1), TODAY, dt.date(2026, 12, 4)),  # past due: counts from today
        (None, TODAY, dt.date(2026, 12, 4)),  # no due date: counts from today
    ],
)
def test_latest_extension(due, today, latest):
    assert rules.latest_extension(POLICY, account(due), today) == latest


def test_no_extension_when_moving_back_to_a_weekday_gains_nothing():
    friday = dt.date(2026, 11, 27)
    assert rules.latest_extension(policy(EXTENSION_MAX_DAYS=1), account(friday), TODAY) is None
    assert rules.latest_extension(policy(EXTENSION_MAX_DAYS=3), account(friday), TODAY) == (
        dt.date(2026, 11, 30)
    )


# --- an earlier date keyed as MMDD -------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ("1202", dt.date(2026, 12, 2)),  # the day after the due date
        ("1215", dt.date(2026, 12, 15)),  # the latest itself
        ("1216", DateError.TOO_LATE),
        ("1205", DateError.NOT_BUSINESS_DAY),  # Saturday
        ("1206", DateError.NOT_BUSINESS_DAY),  # Sunday
        ("1201", DateError.NOT_LATER),  # the current due date
        ("1125", DateError.NOT_LATER),  # before the current due date
        ("1121", DateError.PAST),  # today
        ("1120", DateError.PAST),  # yesterday, not next year
        ("0230", DateError.INVALID),
        ("1301", DateError.INVALID),
        ("1200", DateError.INVALID),
        ("120", DateError.INVALID),
        ("12*5", DateError.INVALID),
        ("１２０２", DateError.INVALID),  # noqa: RUF001 - full-width digits are not keypad digits
    ],
)
def test_check_date(keys, expected):
    offer = offer_for(account(dt.date(2026, 12, 1)))
    assert (offer.earliest, offer.latest) == (dt.date(2026, 12, 2), dt.date(2026, 12, 15))
    assert rules.check_date(keys, offer, TODAY) == expected


@pytest.mark.parametrize(
    ("keys", "expected"),
    [("0105", dt.date(2027, 1, 5)), ("0102", DateError.NOT_BUSINESS_DAY), ("1229", DateError.PAST)],
)
def test_check_date_across_the_year_end(keys, expected):
    today = dt.date(2026, 12, 29)
    offer = offer_for(account(dt.date(2026, 12, 31)), today)
    assert offer.latest == dt.date(2027, 1, 14)
    assert rules.check_date(keys, offer, today) == expected


def test_february_29_is_a_date_only_in_leap_years():
    assert rules.parse_date("0229", dt.date(2027, 2, 1)) is None
    assert rules.parse_date("0229", dt.date(2028, 2, 1)) == dt.date(2028, 2, 29)


# --- installment plans ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "count", "parts"),
    [
        (14250, 3, [4750, 4750, 4750]),
        (14251, 3, [4751, 4750, 4750]),
        (10001, 2, [5001, 5000]),
        (10004, 5, [2004, 2000, 2000, 2000, 2000]),
        (14255, 6, [2380, 2375, 2375, 2375, 2375, 2375]),
    ],
)
def test_split_adds_up_exactly_with_the_odd_cents_first(amount, count, parts):
    assert rules.split(amount, count) == parts
    assert sum(parts) == amount


@pytest.mark.parametrize(
    ("amount", "counts"),
    [(14250, [2, 3, 4, 5, 6]), (10004, [2, 3, 4, 5]), (4000, [2]), (3999, [])],
)
def test_plans_keep_each_payment_at_or_above_the_minimum(amount, counts):
    plans = rules.installment_plans(POLICY, amount, TODAY)
    assert [len(p.schedule) for p in plans] == counts
    for plan in plans:
        assert sum(i.amount_cents for i in plan.schedule) == amount
        assert min(i.amount_cents for i in plan.schedule) >= 2000


def test_plan_dates_are_monthly_from_the_first_business_day_two_weeks_out():
    [*_, plan] = rules.installment_plans(policy(INSTALLMENTS_MAX=4), 14250, TODAY)
    assert POLICY.first_installment_days == 14
    assert [i.date for i in plan.schedule] == [
        dt.date(2026, 12, 7),  # 14 days from Saturday is a Saturday: the Monday after
        dt.date(2027, 1, 7),
        dt.date(2027, 2, 5),  # the 7th is a Sunday
        dt.date(2027, 3, 5),
    ]


@pytest.mark.parametrize("today", [TODAY, dt.date(2026, 11, 23), dt.date(2026, 12, 24)])
def test_no_first_installment_is_due_tomorrow_even_after_a_down_payment(today):
    down_plans = policy(DOWN_PAYMENT_PERCENT=10)
    for plan in rules.installment_plans(down_plans, 14250, today):
        assert plan.down_payment_cents == 1425  # taken today, by card
        assert (plan.schedule[0].date - today).days >= 14


def test_plan_dates_clamp_to_the_month_end():
    plan = rules.installment_plans(POLICY, 6000, dt.date(2027, 1, 15))[-1]
    assert [i.date for i in plan.schedule] == [
        dt.date(2027, 1, 29),
        dt.date(2027, 2, 26),  # 28 February 2027 is a Sunday
        dt.date(2027, 3, 29),
    ]


def test_a_down_payment_comes_off_the_top_of_every_plan():
    offer = offer_for(account(), rules_=policy(DOWN_PAYMENT_PERCENT=10))
    assert [len(p.schedule) for p in offer.plans] == [2, 3, 4, 5, 6]
    assert {p.down_payment_cents for p in offer.plans} == {1425}
    assert offer.down_payment_cents == 1425
    assert offer.latest is not None
    [plan, *_] = rules.installment_plans(policy(DOWN_PAYMENT_PERCENT=10), 14250, TODAY)
    assert plan.down_payment_cents == 1425
    assert [i.amount_cents for i in plan.schedule] == [6413, 6412]


# --- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("acct", "history", "reason"),
    [
        (account(status=AccountStatus.CLOSED), [], Refusal.NOT_ELIGIBLE_STATUS),
        (account(balance=0), [], Refusal.NOTHING_DUE),
        (account(balance=-500), [], Refusal.NOTHING_DUE),
        (account(due=TODAY - dt.timedelta(days=31)), [], Refusal.TOO_FAR_PAST_DUE),
        (account(), [past(ArrangementStatus.BROKEN, days_ago=400)], Refusal.BROKEN_PROMISE),
        (account(), [past(days_ago=179)], Refusal.RECENT_ARRANGEMENT),
        (account(), [past(ArrangementStatus.KEPT, days_ago=1)], Refusal.RECENT_ARRANGEMENT),
    ],
)
def test_refusals(acct, history, reason):
    assert rules.offers(POLICY, acct, history, TODAY) == Refused(reason)


@pytest.mark.parametrize(
    "history",
    [[], [past(days_ago=180)], [past(ArrangementStatus.CANCELLED, days_ago=1)]],
)
def test_older_or_cancelled_arrangements_do_not_count(history):
    assert offer_for(account(), history=history).latest == dt.date(2026, 12, 15)


def test_thirty_days_past_due_is_still_allowed():
    offer = offer_for(account(due=TODAY - dt.timedelta(days=30), status=AccountStatus.PAST_DUE))
    assert offer.latest == dt.date(2026, 12, 4)


def test_policy_counts_come_from_configuration():
    relaxed = policy(MAX_ARRANGEMENTS_IN_WINDOW=2, MAX_BROKEN_PROMISES=1)
    history = [past(), past(ArrangementStatus.BROKEN, days_ago=300)]
    assert isinstance(rules.offers(relaxed, account(), history, TODAY), Offers)
    only_active = policy(ARRANGEMENT_STATUSES="active")
    past_due = account(status=AccountStatus.PAST_DUE)
    assert rules.offers(only_active, past_due, [], TODAY) == Refused(Refusal.NOT_ELIGIBLE_STATUS)


def test_a_disconnected_account_is_told_what_reconnecting_costs():
    refused = rules.offers(POLICY, account(status=AccountStatus.DISCONNECTED), [], TODAY)
    assert refused == Refused(Refusal.DISCONNECTED, reconnect_cents=14250 + 5000)


def test_nothing_to_offer_when_neither_more_days_nor_a_plan_fit():
    offer = rules.offers(policy(EXTENSION_MAX_DAYS=0), account(balance=3000), [], TODAY)
    assert offer == Refused(Refusal.NOTHING_TO_OFFER)


@pytest.mark.parametrize(
    "setting",
    [
        {"INSTALLMENTS_MAX": 10},
        {"INSTALLMENTS_MIN": 1},
        {"INSTALLMENTS_MIN": 5, "INSTALLMENTS_MAX": 4},
        {"ARRANGEMENT_STATUSES": "active,overdue"},
        {"DOWN_PAYMENT_PERCENT": 100},
    ],
)
def test_unusable_settings_are_refused(setting):
    with pytest.raises(ConfigError):
        policy(**setting)


def test_terms_only_for_what_was_offered():
    offer = offer_for(account())
    assert rules.terms_for(Extension(dt.date(2026, 12, 5)), offer) is None  # Saturday
    assert rules.terms_for(Extension(dt.date(2026, 12, 16)), offer) is None  # too late
    assert rules.terms_for(Plan(7), offer) is None
    terms = rules.terms_for(Extension(dt.date(2026, 12, 15)), offer)
    assert terms.schedule == (Installment(dt.date(2026, 12, 15), 14250),)


# --- writing an arrangement (both databases) --------------------------------------------

NOW = dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)
BY = rules.Origin("test")


def test_create_moves_the_due_date_and_refuses_a_second_inside_the_window(
    standalone_factory, settings
):
    with standalone_factory() as session:
        ada = add_account(session, settings, due_date="2026-12-01")
        made = rules.create(
            session, POLICY, ada.id, Extension(dt.date(2026, 12, 15)), now=NOW, by=BY
        )
        session.commit()
        assert is_valid(made.confirmation_number)
        assert (made.kind, made.amount_cents, made.due_date) == (
            ArrangementKind.EXTENSION,
            14250,
            dt.date(2026, 12, 15),
        )
        assert made.schedule == [{"date": "2026-12-15", "amount_cents": 14250}]
        account_now = session.get(Account, ada.id)
        assert account_now.due_date == dt.date(2026, 12, 15)
        assert (account_now.balance_cents, account_now.minimum_due_cents) == (14250, 3500)
        [event] = session.scalars(select(AuditEvent)).all()
        assert event.action == "arrangement.extension"
        assert event.detail["previous_due"] == "2026-12-01"

        later = NOW + dt.timedelta(days=30)
        with pytest.raises(ArrangementRefusedError) as refused:
            rules.create(session, POLICY, ada.id, Plan(2), now=later, by=BY)
        assert refused.value.refused.reason is Refusal.RECENT_ARRANGEMENT


def test_a_plan_leaves_the_account_as_billed(standalone_factory, settings):
    with standalone_factory() as session:
        ada = add_account(session, settings, due_date="2026-12-01")
        made = rules.create(session, POLICY, ada.id, Plan(3), now=NOW, by=BY)
        session.commit()
        assert [row["amount_cents"] for row in made.schedule] == [4750, 4750, 4750]
        assert made.due_date == dt.date(2027, 2, 5)
        assert session.get(Account, ada.id).due_date == dt.date(2026, 12, 1)


def test_a_choice_policy_does_not_allow_is_refused(standalone_factory, settings):
    with standalone_factory() as session:
        ada = add_account(session, settings, due_date="2026-12-01")
        with pytest.raises(ArrangementRefusedError):
            rules.create(session, POLICY, ada.id, Extension(dt.date(2026, 12, 16)), now=NOW, by=BY)
        assert session.scalars(select(Arrangement)).all() == []


def test_confirmation_numbers_are_one_series_with_payments(standalone_factory, settings):
    with standalone_factory() as session:
        ada = add_account(session, settings)
        session.add(
            Payment(
                account_id=ada.id,
                amount_cents=100,
                status=PaymentStatus.APPROVED,
                idempotency_key="k",
                confirmation_number="5005550100",
                channel="voice",
                gateway="sandbox",
            )
        )
        session.flush()
        taken = rules.number_taken(session)
        assert taken("5005550100")
        assert not taken("5005550102")
        made = rules.create(session, POLICY, ada.id, Plan(2), now=NOW, by=BY)
        assert taken(made.confirmation_number)


# --- holidays and time zones --------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ("1126", DateError.NOT_BUSINESS_DAY),  # Thanksgiving
        ("1127", dt.date(2026, 11, 27)),  # the Friday after is a business day
        ("1125", dt.date(2026, 11, 25)),
    ],
)
def test_a_holiday_is_not_a_business_day(keys, expected):
    offer = offer_for(account(dt.date(2026, 11, 24)))
    assert rules.check_date(keys, offer, TODAY) == expected


def test_a_saturday_holiday_is_observed_on_the_friday():
    # 4 July 2026 is a Saturday: banks close on Friday the 3rd, so the 2nd is the latest.
    offer = offer_for(account(dt.date(2026, 6, 20)), today=dt.date(2026, 6, 15))
    assert offer.latest == dt.date(2026, 7, 2)


def test_plans_skip_holidays_at_both_ends():
    [plan] = rules.installment_plans(policy(INSTALLMENTS_MAX=2), 14250, dt.date(2026, 12, 11))
    # Two weeks out is Christmas: the plan starts Monday the 28th; 28 January is a Thursday.
    assert [i.date for i in plan.schedule] == [dt.date(2026, 12, 28), dt.date(2027, 1, 28)]
    [plan] = rules.installment_plans(policy(INSTALLMENTS_MAX=2), 14250, dt.date(2026, 12, 5))
    # Monday 21 December, then 21 January 2027, a Thursday.
    assert [i.date for i in plan.schedule] == [dt.date(2026, 12, 21), dt.date(2027, 1, 21)]
    [plan] = rules.installment_plans(policy(INSTALLMENTS_MAX=2), 14250, dt.date(2026, 12, 18))
    # New Year's Day is off and so is the weekend: Monday the 4th, then 4 February.
    assert [i.date for i in plan.schedule] == [dt.date(2027, 1, 4), dt.date(2027, 2, 4)]


def test_an_installment_on_a_holiday_moves_back_to_the_business_day_before():
    [plan] = rules.installment_plans(policy(INSTALLMENTS_MAX=2), 14250, dt.date(2026, 10, 10))
    # 26 October, then 26 November (Thanksgiving) moves back to Wednesday the 25th.
    assert [i.date for i in plan.schedule] == [dt.date(2026, 10, 26), dt.date(2026, 11, 25)]


def test_an_empty_holiday_calendar_counts_weekends_only():
    weekends_only = policy(HOLIDAY_CALENDAR="")
    assert rules.latest_extension(weekends_only, account(dt.date(2026, 12, 19)), TODAY) == (
        dt.date(2027, 1, 1)
    )


def test_an_unknown_holiday_calendar_is_refused():
    with pytest.raises(ConfigError, match="HOLIDAY_CALENDAR='XX'"):
        policy(HOLIDAY_CALENDAR="XX")


@pytest.mark.parametrize(
    ("zone", "first"),
    [
        ("America/New_York", dt.date(2026, 12, 8)),  # 01:00 Tuesday the 24th there
        ("America/Los_Angeles", dt.date(2026, 12, 7)),  # 22:00 Monday the 23rd there
    ],
)
def test_today_is_the_accounts_own_calendar_day(zone, first):
    moment = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)
    acct = account(dt.date(2026, 12, 1))
    acct.time_zone = zone
    offer = offer_for(acct, today=acct.local_date(moment))
    assert offer.plans[0].schedule[0].date == first
