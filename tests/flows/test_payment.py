"""Paying by keypad on CALL_FLOW itself, without HTTP: the flow asks for the charge as a value
on its turn, and a fake payment service answers it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from flows.engine import Ask, Resume, Turn
from ivr.models import Account, CardCapture, Payment, PaymentStatus
from payments.capture import CapturedCard
from payments.gateways import ChargeResult, ChargeStatus, DeclineReason
from payments.service import Authorize
from prompts import Money, Prompt
from tests.flows.conftest import ADA_PHONE, APPROVED, Call, Dial, FakePayments
from tests.support import keys
from tests.support.factories import balance
from tests.support.keys import card, posted

CARD = posted(card())


@pytest.fixture
def paying(dial: Dial, ada: Account, fake_payments: FakePayments) -> Call:
    """Ada, verified, has keyed a card for her full balance and heard the read-back."""
    call = dial(caller=ADA_PHONE, payments=fake_payments)
    call.keys(*posted(keys.PAY_FULL), *CARD)
    assert call.state == "pay_confirm"
    return call


def captures(session: Session) -> list[str]:
    session.rollback()
    return list(session.scalars(select(CardCapture.session_sid)))


def test_confirming_commits_a_pending_payment_and_moves_no_money(
    paying: Call, fake_payments: FakePayments
) -> None:
    assert paying.press("1") == Turn((Prompt("processing"),), resume=True)
    payment = paying.session.get(Payment, paying.conv.data["payment_id"])
    assert payment is not None and payment.status is PaymentStatus.PENDING
    assert fake_payments.orders == []
    assert "authorize_payment" not in paying.conv.data


def test_the_resumed_turn_asks_for_the_captured_card_and_goes_on_with_the_answer(
    paying: Call, fake_payments: FakePayments, ada: Account
) -> None:
    paying.press("1")
    fake_payments.answers.append(APPROVED)
    turn = paying.send(Resume())

    [order] = fake_payments.orders
    assert isinstance(order, Authorize) and isinstance(order.source, CapturedCard)
    assert order.payment_id == paying.conv.data["payment_id"]
    assert order.source.session_sid == paying.conv.sid and order.source.row is not None
    assert turn.say[0] == Prompt("payment_approved", {"amount": Money(14250)})
    assert turn.say[1].key == "confirmation_number"
    assert paying.state == "payment_receipt"
    assert balance(paying.session, ada) == 0
    assert captures(paying.session) == []  # settling wiped the card fields


def test_a_decline_says_why_and_offers_another_card(
    paying: Call, fake_payments: FakePayments, ada: Account
) -> None:
    paying.press("1")
    declined = ChargeResult(ChargeStatus.DECLINED, decline_reason=DeclineReason.INSUFFICIENT_FUNDS)
    fake_payments.answers.append(declined)
    turn = paying.send(Resume())
    assert turn == Turn((Prompt("declined_insufficient_funds"), Prompt("declined_options")), Ask())
    assert balance(paying.session, ada) == 14250
    assert paying.press("1").say[-1] == Prompt("enter_card_number")
    assert paying.conv.data["pay_attempt"] == 2  # the next card gets a key of its own


def test_an_answer_still_unknown_tells_the_caller_and_returns_to_the_menu(
    paying: Call, fake_payments: FakePayments
) -> None:
    paying.press("1")
    fake_payments.answers.append(None)
    turn = paying.send(Resume())
    assert turn.say[0] == Prompt("payment_unknown")
    assert paying.state == "main_menu"
    payment = paying.session.get(Payment, paying.conv.data["payment_id"])
    assert payment is not None and payment.status is PaymentStatus.UNKNOWN


def test_cancelling_at_the_read_back_wipes_the_card_and_asks_for_nothing(
    paying: Call, fake_payments: FakePayments
) -> None:
    assert paying.press("2").say[0] == Prompt("pay_cancelled")
    assert fake_payments.orders == []
    assert captures(paying.session) == []


@pytest.mark.parametrize("fields", [1, 2, 3, 4], ids=["expiry", "code", "zip", "read-back"])
def test_0_during_card_capture_wipes_the_fields_and_reaches_a_person(
    dial: Dial, ada: Account, fake_payments: FakePayments, fields: int
) -> None:
    call = dial(caller=ADA_PHONE, payments=fake_payments)
    call.keys(*posted(keys.PAY_FULL), *CARD[:fields])
    assert captures(call.session) == [call.conv.sid]
    turn = call.press("0")
    assert (turn.say, type(turn.end).__name__) == ((Prompt("transferring"),), "Queue")
    assert captures(call.session) == []
    assert fake_payments.orders == []
