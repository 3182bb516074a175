"""More time to pay, whole calls through the simulator on both databases: extensions to the
latest or an earlier date, installment plans, cancelling, refusals, and the receipts."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ivr.channels.arrangement_notices import promise_notices
from ivr.channels.services import Services
from ivr.db import make_session_factory, transaction
from ivr.models import (
    Account,
    Arrangement,
    ArrangementKind,
    OutboxMessage,
    Payment,
    PaymentStatus,
    utcnow,
)
from ivr.simulator.emulator import keys_from
from payments import arrangements as rules
from payments import promises
from payments.arrangements import ArrangementPolicy, Extension
from payments.business_days import BusinessDays
from payments.confirmation import is_valid
from payments.gateways.sandbox_tables import SandboxCharge
from prompts import SpokenDate
from tests.conftest import simulator_for
from tests.support.card_scan import database_dump, leaks
from tests.support.factories import add_account, balance
from tests.support.keys import ARRANGE, VERIFY, card, in_spanish
from tests.support.webhooks import twice_simulator

BY = rules.Origin("test")
OPTIONS_END = "To speak with a representative, press 0. For the main menu, press star."


def call(simulator, presses):
    return simulator.call(keys_from(presses), caller="+15005550006")


def today():
    """The account's local date, as the app computes it (no clock is faked)."""
    return utcnow().astimezone(ZoneInfo("America/New_York")).date()


US = BusinessDays("US")


def spoken(day):
    return SpokenDate(day).speak("en-US")


DUE = today() + dt.timedelta(days=5)
LATEST = US.on_or_before(DUE + dt.timedelta(days=14))


pytestmark = pytest.mark.ada(due_date=DUE.isoformat())


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
    chosen = US.after(DUE)
    too_late = US.after(LATEST)
    record = call(
        simulator, [*ARRANGE, "2", too_late.strftime("%m%d"), chosen.strftime("%m%d"), "1", "*"]
    )
    assert f"The latest date I can offer is {spoken(LATEST)}." in record.said
    [made] = arrangements(db)
    assert made.due_date == chosen
    assert due_date(db, ada) == chosen


def plans_offered(said, intro):
    """The lines of the first plan list in ``said`` (from ``intro`` to its "go back")."""
    start = said.index(intro)
    end = said.index("To go back, press star.", start)
    return said[start : end + 1]


def test_an_installment_plan(db, simulator, ada):
    record = call(simulator, [*ARRANGE, "3", "1", "3", "1", "*"])
    first = US.after(today() + dt.timedelta(days=13))  # two weeks out at the soonest
    intro = f"Payments are monthly, the first on {spoken(first)}."
    assert plans_offered(record.said, intro) == [
        intro,
        "For 2 payments of 71 dollars and 25 cents, press 2.",
        "For 6 payments of 23 dollars and 75 cents, press 6.",
        "For other plans, press 1.",
        "To go back, press star.",
    ]
    others = record.said[record.said.index("To go back, press star.") + 1 :]
    assert plans_offered(others, intro) == [
        intro,
        "For 3 payments of 47 dollars and 50 cents, press 3.",
        "For 4 payments, the first of 35 dollars and 64 cents and then 35 dollars and 62 cents "
        "each, press 4.",
        "For 5 payments of 28 dollars and 50 cents, press 5.",
        "To go back, press star.",
    ]
    [made] = arrangements(db)
    assert made.kind is ArrangementKind.INSTALLMENTS
    assert [row["amount_cents"] for row in made.schedule] == [4750, 4750, 4750]
    assert dt.date.fromisoformat(made.schedule[0]["date"]) == first
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
    assert record.transfers == ["queue:agents"]
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
    record = call(simulator, [*in_spanish(ARRANGE), "*"])
    latest = SpokenDate(LATEST).speak("es-US")
    assert (
        f"Puedo mover su fecha de vencimiento hasta el {latest}. "
        "Oprima 1 para esa fecha, 2 para elegir una fecha anterior." in record.said
    )


def test_the_main_menu_no_longer_calls_more_time_unavailable(simulator, ada):
    record = call(simulator, [*ARRANGE, "*"])
    assert "Sorry, that option is not available by phone yet." not in record.said
    assert OPTIONS_END in record.said


CARD = card()


def run_promises_on(settings, day):
    """One ``ivr arrangements run`` pass as if it were 10:00 in New York on ``day``."""
    services = Services.build(settings)
    try:
        return promises.run(
            services.factory,
            services.payments,
            promises.PromisePolicy.from_settings(settings),
            dt.datetime.combine(day, dt.time(15), dt.UTC),
            promise_notices(settings.COMPANY_NAME),
        )
    finally:
        services.close()


def test_a_plan_with_a_down_payment_takes_it_by_card_then_charges_that_card(
    db, make_app, settings, ada
):
    simulator = simulator_for(make_app(DOWN_PAYMENT_PERCENT=10))
    record = call(simulator, [*ARRANGE, "3", "2", "1", *CARD, "1", "*"])
    assert (
        "A payment plan starts with a down payment of 14 dollars and 25 cents, by card, today."
        in record.said
    )
    assert (
        "The down payment is taken by card now, and each later payment will be charged on its "
        "date to that same card." in record.said
    )
    assert any(
        line.startswith(
            "Here are the terms: 142 dollars and 50 cents: a down payment of 14 dollars and 25 "
            "cents today, then 2 monthly payments: 64 dollars and 13 cents on "
        )
        for line in record.said
    )
    assert "Thank you, your payment is approved." in record.said
    assert "Your arrangement is set." in record.said
    [made] = arrangements(db)
    down = db.get(Payment, made.card_payment_id)
    assert (down.status, down.amount_cents, down.last4) == (PaymentStatus.APPROVED, 1425, "4242")
    assert [row["amount_cents"] for row in made.schedule] == [6413, 6412]
    assert balance(db, ada) == 14250 - 1425

    first = dt.date.fromisoformat(made.schedule[0]["date"])
    assert (first - today()).days >= 14  # not the day after the down payment
    assert run_promises_on(settings, first).charged == 1
    assert balance(db, ada) == 14250 - 1425 - 6413
    assert leaks(database_dump(db)) == []


def test_a_declined_down_payment_leaves_no_arrangement(db, make_app, ada):
    simulator = simulator_for(make_app(DOWN_PAYMENT_PERCENT=10))
    declined = card("4000000000000002")
    record = call(simulator, [*ARRANGE, "3", "2", "1", *declined, "1", "*", "3", "*"])
    assert "Sorry, your card was declined and nothing was charged." in record.said
    assert arrangements(db) == []
    assert balance(db, ada) == 14250
    assert leaks(database_dump(db)) == []


def test_a_declined_down_payment_can_be_retried_with_another_card(db, make_app, ada):
    simulator = simulator_for(make_app(DOWN_PAYMENT_PERCENT=10))
    declined = card("4000000000009995")
    call(simulator, [*ARRANGE, "3", "2", "1", *declined, "1", "1", *CARD, "1", "*"])
    [made] = arrangements(db)
    assert db.get(Payment, made.card_payment_id).last4 == "4242"


def test_an_arrangement_made_meanwhile_leaves_the_down_payment_as_a_payment(
    db, make_app, settings, ada
):
    """Another call writes an arrangement while this caller keys the card: the down payment
    is still approved (it was the caller's money), but no second arrangement is written."""
    simulator = simulator_for(make_app(DOWN_PAYMENT_PERCENT=10))
    presses = iter([*ARRANGE, "3", "2", "1", *CARD, "1", "*"])

    def keys(prompt):
        if "To pay, press 1; to cancel" in prompt:
            policy = ArrangementPolicy.from_settings(settings)
            with transaction(make_session_factory(db.get_bind())) as session:
                rules.create(session, policy, ada.id, Extension(LATEST), now=utcnow(), by=BY)
        return next(presses, None)

    record = simulator.call(keys, caller="+15005550006")
    assert (
        "Your payment was taken, but I could not set up the payment plan, because this account "
        "now has another arrangement. A representative can help." in record.said
    )
    assert any(line.startswith("Your confirmation number is") for line in record.said)
    [only] = arrangements(db)
    assert only.kind is ArrangementKind.EXTENSION
    assert balance(db, ada) == 14250 - 1425


PAY_MINIMUM_BY_VISA = ["2", "1", "2", *card(), "1", "*"]  # menu, pay, the minimum


def test_a_plan_after_a_card_payment_is_charged_to_that_card(db, settings, simulator, ada):
    record = call(simulator, [*VERIFY, *PAY_MINIMUM_BY_VISA, "3", "3", "2", "1", "*"])
    assert (
        "Each payment will be charged on its date to the Visa ending in 4 2 4 2 that you last "
        "paid with." in record.said
    )
    [made] = arrangements(db)
    card = db.get(Payment, made.card_payment_id)
    assert (card.status, card.last4, card.amount_cents) == (PaymentStatus.APPROVED, "4242", 3500)

    first = dt.date.fromisoformat(made.schedule[0]["date"])
    assert run_promises_on(settings, first).charged == 1
    db.rollback()
    charged = db.scalars(select(Payment).where(Payment.channel == "plan")).one()
    assert (charged.status, charged.amount_cents) == (PaymentStatus.APPROVED, 10750 // 2)
    assert leaks(database_dump(db)) == []


def test_a_plan_with_no_card_on_file_is_left_for_the_caller_to_pay(db, simulator, ada):
    record = call(simulator, [*ARRANGE, "3", "2", "1", "*"])
    assert (
        "Please pay each installment by its date, by phone or online. We will send you a "
        "reminder a few days before." in record.said
    )
    [made] = arrangements(db)
    assert made.card_payment_id is None


def test_every_webhook_delivered_twice_confirms_one_extension(db, app, settings, ada):
    simulator, mismatches = twice_simulator(app, settings)
    call(simulator, [*ARRANGE, "1", "1", "*"])
    assert mismatches == []
    assert len(arrangements(db)) == 1
    assert len(outbox(db)) == 2


def test_every_webhook_delivered_twice_takes_one_down_payment(db, make_app, settings, ada):
    simulator, mismatches = twice_simulator(make_app(DOWN_PAYMENT_PERCENT=10), settings)
    call(simulator, [*ARRANGE, "3", "2", "1", *CARD, "1", "*"])
    assert mismatches == []
    [made] = arrangements(db)
    assert db.scalars(select(SandboxCharge)).all()[0].amount_cents == 1425
    assert len(db.scalars(select(SandboxCharge)).all()) == 1
    assert balance(db, ada) == 14250 - 1425
    assert made.card_payment_id is not None


def test_after_a_broken_promise_a_call_hears_why_no_new_one(db, settings, simulator, ada):
    """An extension made two months ago, never paid: the run breaks it, and policy refuses."""
    long_ago = utcnow() - dt.timedelta(days=60)
    policy = ArrangementPolicy.from_settings(settings)
    then_due = today() - dt.timedelta(days=55)
    add_account(db, settings, due_date=then_due.isoformat())
    rules.create(db, policy, ada.id, Extension(US.after(then_due)), now=long_ago, by=BY)
    db.commit()
    add_account(db, settings, due_date=DUE.isoformat())  # the next bill, from the import
    assert run_promises_on(settings, today()).broken == 1

    record = call(simulator, [*ARRANGE, "0"])
    assert (
        "Sorry, because an earlier payment arrangement was not kept, I cannot make a new one by "
        "phone." in record.said
    )
    assert record.transfers == ["queue:agents"]


def test_a_down_payment_by_twilio_pay_writes_the_plan_for_the_caller_to_pay(db, make_app, ada):
    """``<Pay>``'s token belongs to Twilio's connector, which our gateway cannot charge: the
    caller hears that the installments are theirs to pay, and the plan records no card."""
    app = make_app(DOWN_PAYMENT_PERCENT=10, CAPTURE_MODE="twilio-pay")
    record = call(simulator_for(app), [*ARRANGE, "3", "2", "1", *CARD, "*"])
    assert (
        "Please pay each installment by its date, by phone or online. We will send you a "
        "reminder a few days before." in record.said
    )
    pay_twiml = next(r for r in record.responses if "<Pay " in r)
    assert 'chargeAmount="14.25"' in pay_twiml
    assert "Your arrangement is set." in record.said
    [made] = arrangements(db)
    assert made.card_payment_id is None
    assert balance(db, ada) == 14250 - 1425


@pytest.mark.parametrize(
    ("account", "overrides", "sentence"),
    [
        (
            {"status": "closed"},
            {},
            "Sorry, this account cannot get more time to pay by phone.",
        ),
        (
            {"balance": "0.00", "minimum_due": "0.00"},
            {},
            "Your account has no balance due, so there is nothing to arrange.",
        ),
        (
            {"due_date": (today() - dt.timedelta(days=31)).isoformat(), "status": "past_due"},
            {},
            "Sorry, this account is too far past due for more time by phone.",
        ),
        (
            {"balance": "30.00", "minimum_due": "30.00"},
            {"EXTENSION_MAX_DAYS": 0},
            "Sorry, I have no arrangement to offer this account by phone.",
        ),
    ],
    ids=["closed", "nothing-due", "too-far-past-due", "nothing-to-offer"],
)
def test_each_refusal_says_why_and_offers_a_representative(
    db, settings, make_app, account, overrides, sentence
):
    add_account(db, settings, **{"due_date": DUE.isoformat(), **account})
    record = call(simulator_for(make_app(**overrides)), [*ARRANGE, "0"])
    assert sentence in record.said
    assert (
        "A representative may be able to help. To speak with one, press 0. For the main menu, "
        "press star." in record.said
    )
    assert record.transfers == ["queue:agents"]
    assert arrangements(db) == []
