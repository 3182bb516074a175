"""``CAPTURE_MODE=twilio-pay`` on CALL_FLOW, without HTTP: ``<Pay>``'s result arrives in our
words, and its settlement goes through the payment service like any other charge."""

from __future__ import annotations

from typing import Any

import pytest

from flows.engine import PayResult, SecureCapture, Turn
from ivr.models import Account, Payment, PaymentStatus
from payments.gateways import ChargeResult, ChargeStatus, DeclineReason
from payments.service import Authorize, PaidElsewhere
from prompts import Money, Prompt
from tests.flows.conftest import ADA_PHONE, Call, Dial, FakePayments
from tests.support import keys
from tests.support.factories import balance
from tests.support.keys import posted

PAID = PaidElsewhere(
    ChargeResult(ChargeStatus.APPROVED, "pay_ref_1", "tok_twilio"), "visa", "4242", (12, 2030)
)


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "CAPTURE_MODE": "twilio-pay"}


@pytest.fixture
def in_pay(dial: Dial, ada: Account, fake_payments: FakePayments) -> Call:
    """Ada chose to pay her full balance: the call is in ``<Pay>``."""
    call = dial(caller=ADA_PHONE, payments=fake_payments)
    turn = call.keys(*posted(keys.PAY_FULL))
    assert turn == Turn((), pay=SecureCapture(14250, turn.pay.description, "Default"))
    return call


def test_entering_pay_writes_the_pending_row_first(in_pay: Call) -> None:
    payment = in_pay.session.get(Payment, in_pay.conv.data["payment_id"])
    assert payment is not None and payment.status is PaymentStatus.PENDING
    assert payment.gateway == "twilio-pay"


def test_an_approval_is_settled_through_the_payment_service(
    in_pay: Call, fake_payments: FakePayments, ada: Account
) -> None:
    turn = in_pay.send(PayResult(PAID))
    assert fake_payments.orders == [Authorize(in_pay.conv.data["payment_id"], PAID)]
    assert turn.say[0] == Prompt("payment_approved", {"amount": Money(14250)})
    assert in_pay.state == "payment_receipt"
    assert balance(in_pay.session, ada) == 0


def test_a_caller_who_stops_pay_hears_it_was_cancelled(
    in_pay: Call, fake_payments: FakePayments, ada: Account
) -> None:
    stopped = ChargeResult(ChargeStatus.FAILED, decline_reason=DeclineReason.CANCELLED)
    turn = in_pay.send(PayResult(PaidElsewhere(stopped)))
    assert turn.say[0] == Prompt("pay_cancelled")
    assert in_pay.state == "main_menu"
    payment = in_pay.session.get(Payment, in_pay.conv.data["payment_id"])
    assert payment is not None and payment.status is PaymentStatus.FAILED
    assert balance(in_pay.session, ada) == 14250


def test_a_decline_goes_to_the_declined_step(in_pay: Call, fake_payments: FakePayments) -> None:
    declined = ChargeResult(ChargeStatus.DECLINED, decline_reason=DeclineReason.EXPIRED_CARD)
    turn = in_pay.send(PayResult(PaidElsewhere(declined)))
    assert turn.say[0] == Prompt("declined_expired_card")
    assert in_pay.state == "payment_declined"
