"""What the balance and pay menus say and offer, whole calls and texts: reconnecting a
disconnected account, disputed amounts as separate facts, a plan's next installment first,
and money in plain words. Each checks the ledger and, for a reconnection, its request, its
audit entry and its notices."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ivr.models import (
    Account,
    AccountStatus,
    Arrangement,
    AuditEvent,
    OutboxMessage,
    PaymentStatus,
    ReconnectionRequest,
    ReconnectionStatus,
    utcnow,
)
from ivr.ops.export import export_rows
from ivr.simulator.emulator import keys_from
from prompts import SpokenDate
from tests.conftest import simulator_for
from tests.support.factories import add_account, balance, payments
from tests.support.keys import (
    ARRANGE,
    BALANCE,
    DISPUTE,
    PAY_MENU,
    TEXT_BALANCE,
    TEXT_PAY,
    VERIFY,
    VERIFY_IN_SPANISH,
    card,
)
from tests.support.texting import Phone, link_in, pay

DUE = utcnow().astimezone(ZoneInfo("America/New_York")).date() + dt.timedelta(days=5)
pytestmark = pytest.mark.ada(due_date=DUE.isoformat())


def call(simulator, presses):
    return simulator.call(keys_from(presses), caller="+15005550006")


def said(record):
    return " ".join(record.said)


def requests(db):
    db.rollback()
    return db.scalars(select(ReconnectionRequest).order_by(ReconnectionRequest.id)).all()


def outbox(db):
    db.rollback()
    return db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def back_by(request, medium="voice"):
    day = request.expected_by.astimezone(ZoneInfo("America/New_York")).date()
    return SpokenDate(day).speak("en-US") if medium == "voice" else SpokenDate(day).write("en-US")


@pytest.fixture
def disconnected(db, settings):
    return add_account(db, settings, status="disconnected", balance="250.00", minimum_due="0")


# --- 1. Reconnection is payable -------------------------------------------------------


def test_a_disconnected_caller_pays_to_reconnect_and_hears_what_happens_next(
    db, simulator, disconnected
):
    heard = call(simulator, BALANCE)
    assert "Your service is disconnected." in heard.said
    assert (
        "To reconnect it, the amount due is 300 dollars: what you owe, plus the reconnection "
        "fee of 50 dollars." in heard.said
    )

    record = call(simulator, [*PAY_MENU, "1", *card(), "1", ""])
    assert (
        "To reconnect your service, the amount due is 300 dollars, which includes the "
        "reconnection fee of 50 dollars. To pay it now, press 1." in record.said
    )
    assert "Your balance is 250 dollars. To pay it all, press 2." in record.said
    [payment] = payments(db)
    assert (payment.status, payment.amount_cents) == (PaymentStatus.APPROVED, 30000)
    assert balance(db, disconnected) == 0  # the fee was billed, and paid: no credit left
    [request] = requests(db)
    assert (request.payment_id, request.amount_cents, request.fee_cents) == (
        payment.id,
        30000,
        5000,
    )
    assert (request.status, request.language) == (ReconnectionStatus.PENDING, "en-US")
    assert request.expected_by - request.created_at == dt.timedelta(hours=24)
    assert (
        "We have asked for your service to be reconnected. It is usually back within 24 hours, "
        f"by {back_by(request)}. We are also sending you this by text and email." in record.said
    )
    [event] = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "reconnection.requested")
    ).all()
    assert (event.resource, event.detail["fee_cents"]) == (f"reconnection:{request.id}", 5000)
    notices = [m for m in outbox(db) if "reconnection fee" in m.body]
    assert sorted((m.channel, m.recipient) for m in notices) == [
        ("email", "ada@example.com"),
        ("sms", "+15005550006"),
    ]
    assert all(back_by(request, "text") in m.body for m in notices)

    # The request is pending: the fee is not asked again, and nothing more can be paid.
    later = call(simulator, [*VERIFY, "2", "1"])  # nothing to offer: the menu, balance, pay
    assert "Your service is disconnected." in later.said
    assert (
        f"Your reconnection is paid, and service should be back within 24 hours, by "
        f"{back_by(request)}." in later.said
    )
    assert "reconnection fee" not in said(later)
    assert later.said.count("Your account has no balance due.") == 2
    assert len(payments(db)) == 1 and len(requests(db)) == 1


def test_at_no_balance_the_fee_alone_is_offered_and_paid(db, settings, simulator):
    account = add_account(db, settings, status="disconnected", balance="0", minimum_due="0")
    record = call(simulator, [*PAY_MENU, "1", *card(), "1", ""])
    assert (
        "To reconnect your service, the reconnection fee of 50 dollars is due. To pay it now, "
        "press 1." in record.said
    )
    [payment] = payments(db)
    assert (payment.status, payment.amount_cents) == (PaymentStatus.APPROVED, 5000)
    assert balance(db, account) == 0
    [request] = requests(db)
    assert (request.amount_cents, request.fee_cents) == (5000, 5000)


def test_a_payment_of_the_balance_alone_is_no_reconnection(db, simulator, disconnected):
    call(simulator, [*PAY_MENU, "2", *card(), "1", ""])
    assert [p.amount_cents for p in payments(db)] == [25000]
    assert requests(db) == []
    assert balance(db, disconnected) == 0
    then = call(simulator, PAY_MENU)
    assert (
        "To reconnect your service, the reconnection fee of 50 dollars is due. To pay it now, "
        "press 1." in then.said
    )


def test_a_spanish_call_gets_its_notices_in_spanish(db, simulator, disconnected):
    record = call(simulator, [*VERIFY_IN_SPANISH, *PAY_MENU[len(VERIFY) :], "1", *card(), "1", ""])
    assert any(line.startswith("Pedimos que se reconecte su servicio.") for line in record.said)
    [request] = requests(db)
    assert request.language == "es-US"
    sms = [m for m in outbox(db) if m.channel == "sms"]
    assert [m.body.split(":")[1].strip()[:26] for m in sms] == ["recibimos $300.00 para la "]


def test_a_texter_reconnects_through_the_pay_link(client, db, disconnected):
    phone = Phone(client)
    menu = phone.conversation(*TEXT_PAY)[-1]
    assert menu.startswith(
        "To reconnect your service, $300.00 is due, including the reconnection fee of $50.00. "
        "Reply 1 to pay it now."
    )
    link = link_in(phone.send("1"))
    assert pay(client, link).status_code == 200
    [payment] = payments(db)
    assert (payment.status, payment.channel, payment.amount_cents) == (
        PaymentStatus.APPROVED,
        "web",
        30000,
    )
    [request] = requests(db)
    assert (request.payment_id, request.fee_cents, request.language) == (payment.id, 5000, "en-US")
    assert balance(db, disconnected) == 0
    assert len([m for m in outbox(db) if "reconnection fee" in m.body]) == 2
    replies = phone.conversation("MENU", "1")
    assert (
        f"Your reconnection is paid: service should be back by {back_by(request, 'text')}."
        in (replies[-1])
    )
    db.rollback()
    assert db.get(Account, disconnected.id).status is AccountStatus.DISCONNECTED  # billing's


# --- 2. Disputed amounts as three facts -------------------------------------------------


@pytest.mark.ada(balance="58.10", minimum_due="20.00", due_date=DUE.isoformat())
def test_a_balance_wholly_in_dispute_is_three_facts_and_can_still_be_paid(db, simulator, ada):
    call(simulator, [*DISPUTE, "1", "1", "*"])
    heard = call(simulator, BALANCE)
    due_on = SpokenDate(DUE).speak("en-US")
    assert f"Your balance is 58 dollars and 10 cents, due on {due_on}." in heard.said
    assert "Of that, 58 dollars and 10 cents is in dispute and not due while we review it." in (
        heard.said
    )
    assert "Nothing else is due now." in heard.said
    assert "minimum" not in said(heard)

    paid = call(simulator, [*PAY_MENU, "1", *card(), "1", ""])
    assert (
        "Nothing else is due now. To pay the disputed amount too, 58 dollars and 10 cents, "
        "press 1." in paid.said
    )
    assert [(p.status, p.amount_cents) for p in payments(db)] == [(PaymentStatus.APPROVED, 5810)]
    assert balance(db, ada) == 0


def test_part_in_dispute_says_what_is_due_now_by_voice_and_text(client, db, simulator, ada):
    call(simulator, [*DISPUTE, "2", "20#", "1", "*"])
    heard = call(simulator, BALANCE)
    assert "Of that, 20 dollars is in dispute and not due while we review it." in heard.said
    assert "The amount due now is 122 dollars and 50 cents." in heard.said
    assert "The minimum payment due is 35 dollars." in heard.said
    reply = Phone(client).conversation(*TEXT_BALANCE)[-1]
    assert reply.startswith(
        f"Your balance is $142.50, due on {SpokenDate(DUE).write('en-US')}. $20.00 of it is in "
        "dispute, not due while we review it. Due now: $122.50. The minimum payment due is $35.00."
    )


@pytest.mark.ada(balance="58.10", minimum_due="20.00", due_date=DUE.isoformat())
def test_a_texter_may_pay_the_disputed_amount_too(client, db, simulator, ada):
    call(simulator, [*DISPUTE, "1", "1", "*"])
    menu = Phone(client).conversation(*TEXT_PAY)[-1]
    assert menu.startswith(
        "Nothing else is due now. Reply 1 to pay the disputed amount too, $58.10."
    )
    assert payments(db) == []


# --- 3. A plan's next installment first ---------------------------------------------------


@pytest.mark.ada(balance="310.29", minimum_due="120.00", due_date=DUE.isoformat())
def test_after_a_plan_the_balance_and_pay_menu_speak_its_next_installment(
    client, db, simulator, ada
):
    call(simulator, [*ARRANGE, "3", "3", "1", "*"])
    db.rollback()
    first = dt.date.fromisoformat(db.scalars(select(Arrangement)).one().schedule[0]["date"])
    heard = call(simulator, BALANCE)
    assert (
        "Under your payment plan, your next payment is 103 dollars and 43 cents, due on "
        f"{SpokenDate(first).speak('en-US')}." in heard.said
    )
    assert "Your balance is 310 dollars and 29 cents." in heard.said
    assert "120 dollars" not in said(heard) and SpokenDate(DUE).speak("en-US") not in said(heard)
    texted = Phone(client).conversation(*TEXT_PAY)[-1]
    assert texted.startswith(
        f"Your next payment plan installment is $103.43, due {SpokenDate(first).write('en-US')}. "
        "Reply 1 to pay it now."
    )

    paid = call(simulator, [*PAY_MENU, "1", *card(), "1", ""])
    assert (
        "Your next payment plan installment is 103 dollars and 43 cents, due on "
        f"{SpokenDate(first).speak('en-US')}. To pay it now, press 1." in paid.said
    )
    assert "Your balance is 310 dollars and 29 cents. To pay it all, press 2." in paid.said
    assert [p.amount_cents for p in payments(db)] == [10343]
    assert balance(db, ada) == 31029 - 10343
    after = call(simulator, BALANCE)
    assert any(
        line.startswith("Under your payment plan, your next payment is 103 dollars and 43 cents")
        and SpokenDate(first).speak("en-US") not in line
        for line in after.said
    )


# --- 4. Money in plain words ------------------------------------------------------------------


@pytest.mark.ada(balance="-25.00", minimum_due="0", due_date=DUE.isoformat())
def test_a_credit_is_said_as_one(simulator, ada):
    heard = call(simulator, BALANCE)
    assert "You have a credit of 25 dollars on your account." in heard.said
    assert "minus" not in said(heard)


def test_a_fee_is_named_before_its_amount_and_no_balance_is_said_in_words(make_app, db, ada):
    app = make_app(FEE_FLAT_CENTS=214)
    record = call(simulator_for(app), [*PAY_MENU, "1", "1", *card(), "1", ""])  # 1: the fee
    assert any(
        "142 dollars and 50 cents plus a fee of 2 dollars and 14 cents, 144 dollars and 64 cents "
        "in all" in line
        for line in record.said
    )
    assert "You now have no balance due." in record.said
    assert re.search(r"\b0 dollars", said(record)) is None
    assert balance(db, ada) == 0


def test_a_reconnection_is_exported_for_the_billing_system_beside_its_payment(
    db, simulator, disconnected
):
    call(simulator, [*PAY_MENU, "1", *card(), "1", ""])
    [payment] = payments(db)
    rows = {row.id: row for row in export_rows(db, dt.datetime(2000, 1, 1, tzinfo=dt.UTC))}
    number = payment.confirmation_number
    assert set(rows) == {f"payment:{number}", f"reconnection:{number}"}
    request = rows[f"reconnection:{number}"]
    assert (request.kind, request.account_number, request.amount_cents, request.fee_cents) == (
        "reconnection_request",
        disconnected.number,
        30000,
        5000,
    )
    assert request.method == "visa ...4242"
