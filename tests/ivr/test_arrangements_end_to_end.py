"""More time to pay, whole calls through the simulator on both databases: extensions to the
latest or an earlier date, installment plans, cancelling, refusals, and the receipts."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ivr.models import Account, Arrangement, ArrangementKind, OutboxMessage, utcnow
from ivr.simulator import keys_from
from payments.confirmation import is_valid
from prompts import SpokenDate
from tests.conftest import simulator_for
from tests.factories import add_account

VERIFY = ["", "1", "1234#", "94105"]
ARRANGE = [*VERIFY, "3"]
OPTIONS_END = "To speak with a representative, press 0. For the main menu, press star."


def call(simulator, presses):
    return simulator.call(keys_from(presses), caller="+15005550006")


def today():
    """The account's local date, as the app computes it (no clock is faked)."""
    return utcnow().astimezone(ZoneInfo("America/New_York")).date()


def weekday_on_or_before(day):
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def weekday_after(day):
    day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def spoken(day):
    return SpokenDate(day).speak("en-US")


DUE = today() + dt.timedelta(days=5)
LATEST = weekday_on_or_before(DUE + dt.timedelta(days=14))


@pytest.fixture
def ada(db, settings):
    return add_account(db, settings, due_date=DUE.isoformat())


def arrangements(db):
    db.rollback()
    return db.scalars(select(Arrangement).order_by(Arrangement.id)).all()


def due_date(db, account):
    db.rollback()
    return db.scalar(select(Account.due_date).where(Account.id == account.id))


def outbox(db):
    db.rollback()
    return db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def spoken_number(number):
    return ", ".join(" ".join(part) for part in (number[:3], number[3:6], number[6:]))


def test_an_extension_to_the_latest_date_moves_the_due_date(db, simulator, ada):
    record = call(simulator, [*ARRANGE, "1", "1", ""])
    assert (
        f"I can move your due date to as late as {spoken(LATEST)}. "
        "Press 1 for that date, 2 to choose an earlier date." in record.said
    )
    assert "To pay in monthly installments, press 3." in record.said
    assert (
        f"Here are the terms: your balance of 142 dollars and 50 cents will be due on "
        f"{spoken(LATEST)}. To confirm, press 1. To cancel, press 2." in record.said
    )
    [made] = arrangements(db)
    assert (made.kind, made.due_date, made.amount_cents) == (
        ArrangementKind.EXTENSION,
        LATEST,
        14250,
    )
    assert is_valid(made.confirmation_number)
    assert "Your arrangement is set." in record.said
    assert f"Your confirmation number is {spoken_number(made.confirmation_number)}." in record.said
    assert record.said[-1] == "Thank you for calling. Goodbye."
    assert due_date(db, ada) == LATEST

    sms, email = outbox(db)
    written = f"{made.confirmation_number[:3]}-{made.confirmation_number[3:6]}-"
    assert (sms.channel, sms.recipient) == ("sms", "+15005550006")
    assert written in sms.body
    assert LATEST.strftime("%m/%d/%Y") in sms.body
    assert (email.channel, email.recipient) == ("email", "ada@example.com")
    assert written in email.subject


def test_1_repeats_the_confirmation_number(db, simulator, ada):
    record = call(simulator, [*ARRANGE, "1", "1", "1", "*"])
    [made] = arrangements(db)
    line = f"Your confirmation number is {spoken_number(made.confirmation_number)}."
    assert record.said.count(line) == 2


def test_an_earlier_date_keyed_as_mmdd(db, simulator, ada):
    chosen = weekday_after(DUE)
    too_late = weekday_after(LATEST)
    record = call(
        simulator, [*ARRANGE, "2", too_late.strftime("%m%d"), chosen.strftime("%m%d"), "1", "*"]
    )
    assert f"The latest date I can offer is {spoken(LATEST)}." in record.said
    [made] = arrangements(db)
    assert made.due_date == chosen
    assert due_date(db, ada) == chosen


def test_an_installment_plan(db, simulator, ada):
    record = call(simulator, [*ARRANGE, "3", "3", "1", "*"])
    assert "For 3 payments of 47 dollars and 50 cents, press 3." in record.said
    assert "For 6 payments of 23 dollars and 75 cents, press 6." in record.said
    [made] = arrangements(db)
    assert made.kind is ArrangementKind.INSTALLMENTS
    assert [row["amount_cents"] for row in made.schedule] == [4750, 4750, 4750]
    first = dt.date.fromisoformat(made.schedule[0]["date"])
    assert first == weekday_after(today())
    assert any(
        line.startswith("Here are the terms: 142 dollars and 50 cents in 3 monthly payments: ")
        and f"47 dollars and 50 cents on {spoken(first)}" in line
        for line in record.said
    )
    assert due_date(db, ada) == DUE
    assert len(outbox(db)) == 2


def test_cancel_at_the_terms_writes_nothing(db, simulator, ada):
    record = call(simulator, [*ARRANGE, "1", "2", "*"])
    assert "All right, nothing was changed." in record.said
    assert arrangements(db) == []
    assert due_date(db, ada) == DUE
    assert outbox(db) == []


def test_a_disconnected_account_hears_why_and_can_reach_an_agent(db, settings, simulator):
    add_account(db, settings, status="disconnected", due_date=DUE.isoformat())
    record = call(simulator, [*ARRANGE, "0"])
    assert (
        "This account is disconnected, so I cannot move its due date or set up a payment plan. "
        "To reconnect service, the amount due is 192 dollars and 50 cents: your balance plus "
        "the reconnection fee of 50 dollars." in record.said
    )
    assert record.transfers == [f"queue:{settings.AGENT_QUEUE}"]
    assert arrangements(db) == []


def test_a_second_calls_extension_is_refused_as_too_recent(db, simulator, ada):
    call(simulator, [*ARRANGE, "1", "1", "*"])
    record = call(simulator, [*ARRANGE, "*"])
    assert (
        "Sorry, this account already has a recent payment arrangement, so I cannot make "
        "another one by phone." in record.said
    )
    assert not any(line.startswith("I can move your due date") for line in record.said[-4:])
    assert len(arrangements(db)) == 1


def test_spanish_callers_hear_the_offer_in_spanish(db, simulator, ada):
    record = call(simulator, ["9", "1", "1234#", "94105", "3", "*"])
    latest = SpokenDate(LATEST).speak("es-US")
    assert (
        f"Puedo mover su fecha de vencimiento hasta el {latest}. "
        "Oprima 1 para esa fecha, 2 para elegir una fecha anterior." in record.said
    )


def test_the_main_menu_no_longer_calls_more_time_unavailable(simulator, ada):
    record = call(simulator, [*ARRANGE, "*"])
    assert "Sorry, that option is not available by phone yet." not in record.said
    assert OPTIONS_END in record.said


def test_plans_needing_a_down_payment_are_referred_to_a_representative(db, make_app, ada):
    simulator = simulator_for(make_app(DOWN_PAYMENT_PERCENT=10))
    record = call(simulator, [*ARRANGE, "3", "*"])
    assert (
        "A payment plan needs a down payment of 14 dollars and 25 cents, which a representative "
        "can take." in record.said
    )
    assert "To pay in monthly installments, press 3." not in record.said
    assert "Sorry, that is not one of the choices." in record.said
    assert arrangements(db) == []
