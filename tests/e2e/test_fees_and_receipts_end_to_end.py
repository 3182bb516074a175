"""A convenience fee said the same way on every path, before any card field and with a way to
decline it. Whole calls through the simulator, texts through the text simulator, with the
ledger checked."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.models import AgentCapture, CaptureStatus, PaymentStatus
from ivr.simulator.emulator import keys_from
from payments.gateways.sandbox_tables import SandboxCharge
from tests.conftest import simulator_for
from tests.support.agent_desk import Desk, WaitingCaller, final, make_agent, take_call
from tests.support.card_scan import captures_left, database_dump, leaks
from tests.support.factories import balance, payments
from tests.support.keys import PAY_FULL, TEXT_VERIFY, card
from tests.support.texting import Phone

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
CARD_PROMPT = "Enter your card number, then press pound."


def call(simulator, presses):
    return simulator.call(keys_from(presses), caller="+15005550006")


def first_index(said, start):
    return next(i for i, line in enumerate(said) if line.startswith(start))


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
    record = call(simulator_for(app), [*PAY_FULL, "2", ""])
    assert record.said.index(DECLINED) == record.said.index(ACCEPT) + 1
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
