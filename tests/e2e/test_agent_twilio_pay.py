"""``CAPTURE_MODE=twilio-pay``: the console drives Twilio's Payments API on the live call
(faked at the SDK's HTTP boundary) and follows Twilio's status callbacks, which may come late,
twice or out of order. Twilio keeps the digits; the app sees field names and the last four."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select
from twilio.rest import Client

from ivr.adapters.telephony import TwilioTelephony
from ivr.config import DEV_ACCOUNT_SID, DEV_AUTH_TOKEN
from ivr.models import Account, AgentCapture, CaptureStatus, Payment, PaymentStatus
from tests.support.agent_desk import Desk, WaitingCaller, capture_row, handoff, make_agent
from tests.support.card_scan import database_dump, leaks
from tests.support.factories import add_account
from tests.support.fake_twilio import FakeTwilio
from tests.support.webhooks import post

ALL = "payment-card-number,expiration-date,security-code,postal-code"


@pytest.fixture
def twilio() -> FakeTwilio:
    return FakeTwilio(DEV_ACCOUNT_SID, DEV_AUTH_TOKEN)


@pytest.fixture
def pay_app(make_app, twilio) -> Flask:
    phone = TwilioTelephony(Client(DEV_ACCOUNT_SID, DEV_AUTH_TOKEN, http_client=twilio), "+1500")
    return make_app(CAPTURE_MODE="twilio-pay", telephony=phone)


def agent_starts(app: Flask, db, settings, amount: str) -> tuple[Desk, WaitingCaller, str]:
    """Ada waits for an agent; alice takes the call and asks for ``amount``. Returns the desk,
    the caller (still on the line) and where the console sent alice."""
    add_account(db, settings)
    make_agent(db)
    desk = Desk(app.test_client())
    desk.login()
    caller = WaitingCaller(app, [])
    call = handoff(db)
    desk.post(f"/agent/calls/{call.id}/claim")
    reply = desk.post(f"/agent/calls/{call.id}/payment", amount=amount)
    assert reply.status_code == 302
    return desk, caller, reply.headers["Location"]


@pytest.fixture
def started(pay_app, db, settings):
    """Ada waits for an agent; alice takes the call and starts a $142.50 payment."""
    _desk, caller, _page = agent_starts(pay_app, db, settings, "142.50")
    yield capture_row(db)
    caller.hang_up()


def callback(app: Flask, capture: AgentCapture, **form: str) -> int:
    fields = {"CallSid": capture.call_sid, "AccountSid": DEV_ACCOUNT_SID, **form}
    path = f"/voice/agent-pay-status?capture={capture.id}"
    return post(app.test_client(), path, fields).status_code


def asked(twilio: FakeTwilio) -> list[str]:
    """What the app asked Twilio for, in order: fields captured, then complete or cancel."""
    return [
        data.get("Capture") or data.get("Status") or "start"
        for _call, _sid, data in twilio.payment_actions.values()
    ]


def states(db, capture_id: int) -> dict[str, str]:
    row = capture_row(db, capture_id)
    assert row is not None
    return {name: info["status"] for name, info in row.fields.items()}


def test_the_console_drives_each_field_and_twilios_result_settles_the_ledger(
    pay_app, twilio, db, started
):
    capture = started
    [(call, pay_sid, opened)] = [
        a for a in twilio.payment_actions.values() if "ChargeAmount" in a[2]
    ]
    assert call == capture.call_sid and pay_sid.startswith("PK")
    assert str(opened["ChargeAmount"]) == "142.50"
    assert opened["StatusCallback"].endswith(f"/voice/agent-pay-status?capture={capture.id}")
    assert asked(twilio) == ["start", "payment-card-number"]

    callback(pay_app, capture, Capture="payment-card-number", PartialResult="true", Required=ALL)
    # The expiry's completion overtakes the card number's:
    callback(
        pay_app, capture, Capture="expiration-date", PartialResult="false",
        Required="security-code,postal-code",
        PaymentCardNumber="xxxxxxxxxxxx4242", PaymentCardType="visa",
    )  # fmt: skip
    callback(pay_app, capture, Capture="payment-card-number", PartialResult="false", Required=ALL)
    assert states(db, capture.id) == {
        "card_number": "valid",
        "card_expiry": "valid",
        "card_code": "entering",
        "card_zip": "pending",
    }
    assert asked(twilio) == ["start", "payment-card-number", "security-code"]

    for _ in range(2):  # a wrong code, reported twice: asked again once
        callback(
            pay_app, capture, Capture="security-code", ErrorType="invalid-security-code",
            Required="security-code,postal-code",
        )  # fmt: skip
    row = capture_row(db, capture.id)
    assert row.fields["card_code"] == {"status": "invalid", "reason": "card_code_invalid"}
    assert asked(twilio)[-2:] == ["security-code", "security-code"]
    assert len(asked(twilio)) == 4

    callback(pay_app, capture, Capture="security-code", Required="postal-code")
    callback(pay_app, capture, Capture="postal-code", Required="")
    callback(pay_app, capture, Capture="postal-code", Required="")
    assert asked(twilio)[-2:] == ["postal-code", "complete"]
    assert capture_row(db, capture.id).status is CaptureStatus.AUTHORIZING

    for _ in range(2):
        callback(
            pay_app, capture, Result="success", PaymentConfirmationCode="ch_123",
            PaymentToken="tok_123", PaymentCardNumber="xxxxxxxxxxxx4242",
            PaymentCardType="visa", ExpirationDate="1230",
        )  # fmt: skip
    row = capture_row(db, capture.id)
    assert row.status is CaptureStatus.APPROVED
    assert (row.brand, row.last4) == ("visa", "4242")
    [payment] = db.scalars(select(Payment)).all()
    assert payment.status is PaymentStatus.APPROVED
    assert (payment.gateway, payment.gateway_token) == ("twilio-pay", "tok_123")
    assert payment.confirmation_number == row.confirmation_number
    assert db.get(Account, payment.account_id).balance_cents == 0
    assert leaks(database_dump(db)) == []


def test_a_connector_decline_is_recorded_and_nothing_is_charged(pay_app, db, started):
    capture = started
    callback(pay_app, capture, Required="")
    callback(pay_app, capture, Result="payment-connector-error", PaymentError="Card declined")
    row = capture_row(db, capture.id)
    assert (row.status, row.reason) == (CaptureStatus.DECLINED, "declined_declined")
    [payment] = db.scalars(select(Payment)).all()
    assert payment.status is PaymentStatus.DECLINED
    assert db.get(Account, payment.account_id).balance_cents == 14250


def test_the_agents_cancel_tells_twilio_and_charges_nothing(pay_app, twilio, db, started):
    capture = started
    desk = Desk(pay_app.test_client())
    desk.login()
    assert desk.post(f"/agent/payments/{capture.id}/cancel").status_code == 302
    assert asked(twilio)[-1] == "cancel"
    db.rollback()
    assert capture_row(db, capture.id).status is CaptureStatus.CANCELLED
    [payment] = db.scalars(select(Payment)).all()
    assert payment.status is PaymentStatus.FAILED
    assert callback(pay_app, capture, Result="success", PaymentToken="tok_late") == 204
    db.rollback()
    assert db.scalars(select(Payment)).one().status is PaymentStatus.FAILED


def test_status_callbacks_need_twilios_signature(pay_app, db, started):
    reply = pay_app.test_client().post(
        f"/voice/agent-pay-status?capture={started.id}",
        data={"Result": "success"},
        headers={"X-Twilio-Signature": "forged"},
    )
    assert reply.status_code == 403
    assert capture_row(db, started.id).status is CaptureStatus.CAPTURING


def test_without_twilio_the_console_says_what_twilio_pay_needs(make_app, db, settings):
    app = make_app(CAPTURE_MODE="twilio-pay")
    desk, caller, location = agent_starts(app, db, settings, "10")
    page = desk.client.get(location).get_data(as_text=True)
    assert "needs TELEPHONY=twilio" in page
    assert capture_row(db).status is CaptureStatus.FAILED
    caller.hang_up()


def test_a_hang_up_mid_capture_closes_the_prepared_payment_uncharged(pay_app, db, started):
    capture = started
    callback(pay_app, capture, Capture="payment-card-number", PartialResult="true", Required=ALL)
    post(
        pay_app.test_client(),
        "/voice/status",
        {"CallSid": capture.call_sid, "AccountSid": DEV_ACCOUNT_SID, "CallStatus": "completed"},
    )
    db.rollback()
    assert capture_row(db, capture.id).status is CaptureStatus.HUNG_UP
    [payment] = db.scalars(select(Payment)).all()
    assert (payment.status, payment.decline_reason) == (PaymentStatus.FAILED, "cancelled")


def test_the_agent_can_ask_twilio_for_a_field_again(pay_app, twilio, db, started):
    capture = started
    callback(pay_app, capture, Capture="expiration-date", Required="security-code,postal-code")
    desk = Desk(pay_app.test_client())
    desk.login()
    reply = desk.post(f"/agent/payments/{capture.id}/rerequest", field="card_expiry")
    assert reply.status_code == 302
    assert asked(twilio)[-1] == "expiration-date"
    assert states(db, capture.id)["card_expiry"] == "entering"
