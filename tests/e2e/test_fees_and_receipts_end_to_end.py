"""A convenience fee said the same way on every path, before any card field and with a way to
decline it; receipts by email only when asked on the phone, holding when, how much and how;
and the pay page itemizing the fee. Whole calls through the simulator, texts through the text
simulator, the pay page through the Flask client, with the ledger and the outbox checked."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ivr.models import AgentCapture, CaptureStatus, OutboxMessage, PaymentStatus
from ivr.simulator.emulator import keys_from
from payments.gateways.sandbox_tables import SandboxCharge
from tests.conftest import simulator_for
from tests.support.agent_desk import Desk, WaitingCaller, final, make_agent, take_call
from tests.support.card_scan import captures_left, database_dump, leaks
from tests.support.factories import add_account, balance, payments
from tests.support.keys import PAY_FULL, PAY_MENU, TEXT_VERIFY, card, in_spanish
from tests.support.texting import Phone, link_in, pay

FEE = {"FEE_FLAT_CENTS": 250}
NOTICE = "A convenience fee of 2 dollars and 50 cents applies, for a total of 145 dollars."
ACCEPT = (
    "To pay 145 dollars by card, press 1. To go back to the menu without paying anything, press 2."
)
DECLINED = "The convenience fee was declined, so nothing was charged."
APPROVED = (
    "Thank you, your payment of 142 dollars and 50 cents is approved, with a convenience fee of "
    "2 dollars and 50 cents: 145 dollars in all."
)
CARD_PROMPT = "Enter your card number, then pound."


def call(simulator, presses):
    return simulator.call(keys_from(presses), caller="+15005550006")


def first_index(said, start):
    return next(i for i, line in enumerate(said) if line.startswith(start))


def written(number):
    return f"{number[:3]}-{number[3:6]}-{number[6:]}"


def local(moment):
    return moment.astimezone(ZoneInfo("America/New_York"))


# --- The fee, said before any card field, with a way to decline it ---


def test_keypad_fee_is_said_with_the_total_before_the_card_and_the_approval_names_it(
    make_app, db, ada
):
    record = call(simulator_for(make_app(**FEE)), [*PAY_FULL, "1", *card(), "1", ""])
    said = record.said
    assert said.index(NOTICE) < said.index(ACCEPT) < first_index(said, CARD_PROMPT)
    assert any("142 dollars and 50 cents plus a fee of 2 dollars and 50 cents" in s for s in said)
    assert APPROVED in said
    [payment] = payments(db)
    assert (payment.amount_cents, payment.fee_cents, payment.status) == (
        14250,
        250,
        PaymentStatus.APPROVED,
    )
    [charge] = db.scalars(select(SandboxCharge)).all()
    assert charge.amount_cents == 14500
    assert balance(db, ada) == 0


def test_declining_the_fee_charges_nothing_and_asks_for_no_card(make_app, db, ada):
    app = make_app(**FEE)
    record = call(simulator_for(app), [*PAY_FULL, "5", "2", ""])
    retry = record.said.index("Sorry, that is not one of the choices.")
    assert record.said[retry - 1 : retry + 3] == [ACCEPT, record.said[retry], ACCEPT, DECLINED]
    assert not any(line.startswith(CARD_PROMPT) for line in record.said)
    assert payments(db) == []
    assert db.scalars(select(SandboxCharge)).all() == []
    assert balance(db, ada) == 14250
    telephony = app.extensions["ivr"].telephony
    assert [sid for sid, _ in telephony.recordings if sid == record.call_sid] == []


def test_twilio_pay_says_the_fee_before_pay_and_a_decline_never_reaches_it(make_app, db, ada):
    app = make_app(CAPTURE_MODE="twilio-pay", **FEE)
    declined = call(simulator_for(app), [*PAY_FULL, "2", ""])
    assert DECLINED in declined.said
    assert not any("<Pay " in response for response in declined.responses)
    assert payments(db) == []

    record = call(simulator_for(app), [*PAY_FULL, "1", *card(), ""])
    [pay_at] = [i for i, response in enumerate(record.responses) if "<Pay " in response]
    assert NOTICE in record.responses[pay_at - 1] and "press 1" in record.responses[pay_at - 1]
    assert 'chargeAmount="145.00"' in record.responses[pay_at]
    assert APPROVED in record.said
    [payment] = payments(db)
    assert (payment.amount_cents, payment.fee_cents, payment.status) == (
        14250,
        250,
        PaymentStatus.APPROVED,
    )


@pytest.fixture
def fee_desk(make_app, db):
    app = make_app(**FEE)
    make_agent(db)
    desk = Desk(app.test_client())
    assert desk.login().status_code == 302
    return app, desk


def test_an_agents_capture_says_the_payment_then_the_fee_and_total_before_the_card(
    fee_desk, db, ada
):
    app, desk = fee_desk
    caller = WaitingCaller(app, ["1", *card(), "1"])
    agent_call = take_call(desk, db)
    assert desk.post(f"/agent/calls/{agent_call.id}/payment", amount="142.50").status_code == 302
    capture = final(db)
    record = caller.hang_up()
    said = record.said
    intro = said.index(
        "Your representative has asked me to take your payment of 142 dollars and 50 cents. "
        "They cannot hear the keys you press."
    )
    accept = said.index(
        "To pay 145 dollars by card, press 1. To go back to your representative without "
        "paying anything, press 2."
    )
    assert intro < said.index(NOTICE) < accept < first_index(said, CARD_PROMPT)
    assert APPROVED in said
    assert capture.status is CaptureStatus.APPROVED
    [payment] = payments(db)
    assert (payment.amount_cents, payment.fee_cents, payment.status) == (
        14250,
        250,
        PaymentStatus.APPROVED,
    )
    assert captures_left(db) == 0
    assert leaks("\n".join([database_dump(db), *record.responses])) == []


def test_a_caller_who_declines_an_agents_fee_goes_back_to_the_agent_uncharged(fee_desk, db, ada):
    app, desk = fee_desk
    caller = WaitingCaller(app, ["2"])
    agent_call = take_call(desk, db)
    desk.post(f"/agent/calls/{agent_call.id}/payment", amount="142.50")
    capture = final(db)
    record = caller.hang_up()
    assert (capture.status, capture.reason) == (CaptureStatus.CANCELLED, "fee_declined")
    assert record.said.index(DECLINED) < record.said.index(
        "Please hold while I return you to your representative."
    )
    assert not any(line.startswith(CARD_PROMPT) for line in record.said)
    assert payments(db) == []
    stream = desk.client.get(f"/agent/payments/{capture.id}/events").get_data(as_text=True)
    assert DECLINED in stream
    assert db.scalars(select(AgentCapture)).one().payment_id is None


def test_a_texted_fee_is_said_with_the_total_and_menu_declines_it(make_app, db, ada):
    phone = Phone(make_app(**FEE).test_client())
    phone.conversation(*TEXT_VERIFY, "2")
    reply = phone.send("1")
    assert reply.startswith(
        "A convenience fee of $2.50 applies, for a total of $145.00. To decline it, reply MENU: "
        "nothing is charged."
    )
    phone.send("MENU")
    assert payments(db) == []


def test_a_saved_card_by_text_hears_the_fee_first_and_its_receipt_is_emailed(make_app, db, ada):
    app = make_app(**FEE)
    call(simulator_for(app), [*PAY_MENU, "3", "50#", "1", *card(), "1", "4"])  # saves the card
    phone = Phone(app.test_client())
    phone.conversation(*TEXT_VERIFY, "2", "3")
    offer = phone.send("10")
    assert offer.startswith(
        "A convenience fee of $2.50 applies, for a total of $12.50. To decline it, reply MENU: "
        "nothing is charged."
    )
    assert "Reply 1 to pay $12.50 now with Visa ending 4242." in offer
    assert phone.send("1").startswith(
        "Thank you, your payment of $10.00 is approved, with a convenience fee of $2.50: $12.50 "
        "in all."
    )
    by_text = payments(db)[-1]
    assert (by_text.channel, by_text.amount_cents, by_text.fee_cents) == ("sms", 1000, 250)
    [email] = db.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email")).all()
    assert "Payment: $10.00\nConvenience fee: $2.50\nTotal charged: $12.50" in email.body


# --- Receipts: offered on the phone, emailed only when asked ---


def test_the_email_receipt_is_offered_and_sent_when_asked_with_when_and_how_much(make_app, db, ada):
    record = call(simulator_for(make_app(**FEE)), [*PAY_FULL, "1", *card(), "1", "3", ""])
    [payment] = payments(db)
    number = payment.confirmation_number
    offer = "To get it by email at a…@example.com, press 3."
    assert first_index(record.said, "Your confirmation number is") < record.said.index(offer)
    assert "I have sent it by email to a…@example.com." in record.said
    [email] = db.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email")).all()
    assert email.recipient == "ada@example.com"
    assert written(number) in email.subject
    paid = local(payment.created_at)
    hour = paid.hour % 12 or 12
    meridiem = "a.m." if paid.hour < 12 else "p.m."
    assert email.body.splitlines()[:8] == [
        "Thank you for your payment for account ending 0001.",
        f"Date: {paid:%m/%d/%Y} at {hour}:{paid:%M} {meridiem} {paid.tzname()}",
        "Payment: $142.50",
        "Convenience fee: $2.50",
        "Total charged: $145.00",
        "Paid with Visa ending in 4242",
        f"Confirmation number: {written(number)}",
        "Balance after payment: $0.00",
    ]


def test_no_email_goes_unless_asked(db, simulator, ada):
    call(simulator, [*PAY_FULL, *card(), "1", ""])
    assert [payment.status for payment in payments(db)] == [PaymentStatus.APPROVED]
    assert db.scalars(select(OutboxMessage)).all() == []


def test_an_account_without_email_is_not_offered_one(db, settings, simulator):
    add_account(db, settings, email="")
    record = call(simulator, [*PAY_FULL, *card(), "1", "3", ""])
    assert not any("by email" in line for line in record.said)
    assert "Sorry, that is not one of the choices." in record.said
    assert db.scalars(select(OutboxMessage)).all() == []


IN_SPANISH = [*in_spanish(PAY_FULL), *card(), "1"]


def test_the_email_receipt_is_in_the_language_of_the_call_not_the_account(db, simulator, ada):
    assert ada.language == "en-US"
    record = call(simulator, [*IN_SPANISH, "3", ""])
    assert "Para recibirlo por correo electrónico en a…@example.com, oprima 3." in record.said
    [payment] = payments(db)
    paid = local(payment.created_at)
    email = db.scalars(select(OutboxMessage)).one()
    assert email.body.startswith("Gracias por su pago para la cuenta que termina en 0001.")
    assert f"Fecha: {paid:%d/%m/%Y} a las {paid.hour % 12 or 12}:{paid:%M}" in email.body
    assert "Pagado con Visa que termina en 4242" in email.body
    assert email.subject == f"Pago recibido, confirmación {written(payment.confirmation_number)}"


def test_the_text_receipt_is_in_the_language_of_the_call(db, simulator, ada):
    call(simulator, [*IN_SPANISH, "2", ""])
    [payment] = payments(db)
    paid = local(payment.created_at)
    text = db.scalars(select(OutboxMessage)).one()
    assert text.body.startswith("Riverside Utilities: recibimos su pago")
    assert f" el {paid:%d/%m/%Y} a las {paid.hour % 12 or 12}:{paid:%M}" in text.body
    assert "$142.50, cargo $0.00, total cobrado $142.50, pagado con Visa" in text.body
    assert written(payment.confirmation_number) in text.body


def test_the_text_receipt_holds_when_and_how_much(make_app, db, ada):
    call(simulator_for(make_app(**FEE)), [*PAY_FULL, "1", *card(), "1", "2", ""])
    [payment] = payments(db)
    paid = local(payment.created_at)
    text = db.scalars(select(OutboxMessage)).one()
    assert text.channel == "sms"
    assert text.body == (
        f"Riverside Utilities: payment received for account ending 0001 on {paid:%m/%d/%Y} at "
        f"{paid.hour % 12 or 12}:{paid:%M} {'a.m.' if paid.hour < 12 else 'p.m.'} "
        f"{paid.tzname()}: $142.50, fee $2.50, total charged $145.00, paid with Visa ending in "
        f"4242. Confirmation {written(payment.confirmation_number)}. Balance now $0.00."
    )


# --- The pay page ---


def test_the_pay_page_itemizes_the_fee_on_the_form_and_on_the_approval(make_app, db, ada):
    client = make_app(**FEE).test_client()
    phone = Phone(client)
    phone.conversation(*TEXT_VERIFY, "2")
    path = link_in(phone.send("1"))
    form = client.get(path).text
    for item in ("Payment: $142.50", "Convenience fee: $2.50", "Total: $145.00"):
        assert f"<li>{item}</li>" in form
    assert ">Pay $145.00</button>" in form
    done = pay(client, path)
    assert done.status_code == 200
    assert (
        "Your payment of $142.50 was approved, with a convenience fee of $2.50: $145.00 charged "
        "in all." in done.text
    )
    [payment] = payments(db)
    assert (payment.amount_cents, payment.fee_cents, payment.channel) == (14250, 250, "web")
    db.rollback()
    sent = {m.channel: m for m in db.scalars(select(OutboxMessage))}
    assert "fee $2.50, total charged $145.00" in sent["sms"].body
    assert "Total charged: $145.00" in sent["email"].body  # by link: emailed as before


def test_a_link_whose_bill_was_since_paid_says_when(client, db, simulator, ada):
    phone = Phone(client)
    phone.conversation(*TEXT_VERIFY, "2")
    path = link_in(phone.send("1"))
    call(simulator, [*PAY_FULL, *card(), "1", ""])
    [by_phone] = payments(db)
    day = local(by_phone.created_at).date()
    words = f"This bill was paid on {day:%m/%d/%Y}, so this link takes no payment"
    page = client.get(path)
    assert page.status_code == 410 and words in page.text
    assert "already being processed" not in page.text
    submitted = client.post(path, data={"form_token": "x", "number": "4242424242424242"})
    assert submitted.status_code == 410 and words in submitted.text
    assert [p.id for p in payments(db)] == [by_phone.id]
