"""Arrangements and disputes on CALL_FLOW, without HTTP: a plan's down payment goes through the
same payment path as any card payment, and a disputed amount is not asked for."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from flows.engine import Resume
from ivr.models import Account, Arrangement, Dispute, Payment, PaymentStatus
from payments.capture import CapturedCard
from payments.gateways import ChargeResult, ChargeStatus, DeclineReason
from prompts import Money, Prompt
from tests.flows.conftest import ADA_PHONE, APPROVED, Call, Dial, FakePayments
from tests.support import keys
from tests.support.factories import balance
from tests.support.keys import card, posted

CARD = posted(card())


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "DOWN_PAYMENT_PERCENT": 10}


@pytest.fixture
def down_payment(dial: Dial, ada: Account, fake_payments: FakePayments) -> Call:
    """Ada chose a two-payment plan, accepted its terms, keyed a card and confirmed."""
    call = dial(caller=ADA_PHONE, payments=fake_payments)
    call.keys(*posted(keys.ARRANGE), "3", "2", "1", *CARD)
    assert call.state == "pay_confirm"
    assert call.conv.data["pay"]["amount"] == 1425
    assert call.press("1").resume
    return call


def test_an_approved_down_payment_writes_the_plan_on_that_card(
    down_payment: Call, fake_payments: FakePayments, ada: Account
) -> None:
    fake_payments.answers.append(APPROVED)
    turn = down_payment.send(Resume())
    [order] = fake_payments.orders
    assert isinstance(order.source, CapturedCard)
    assert Prompt("arrangement_made") in turn.say
    assert down_payment.state == "arrangement_confirmed"
    session = down_payment.session
    [made] = session.scalars(select(Arrangement)).all()
    down = session.get(Payment, made.card_payment_id)
    assert down is not None and (down.status, down.amount_cents) == (PaymentStatus.APPROVED, 1425)
    assert balance(session, ada) == 14250 - 1425


def test_a_declined_down_payment_writes_no_plan(
    down_payment: Call, fake_payments: FakePayments, ada: Account
) -> None:
    declined = ChargeResult(ChargeStatus.DECLINED, decline_reason=DeclineReason.DECLINED)
    fake_payments.answers.append(declined)
    turn = down_payment.send(Resume())
    assert turn.say[0] == Prompt("declined_declined")
    assert down_payment.session.scalars(select(Arrangement)).all() == []
    assert balance(down_payment.session, ada) == 14250


def test_a_disputed_balance_is_not_asked_for(
    dial: Dial, ada: Account, fake_payments: FakePayments
) -> None:
    call = dial(caller=ADA_PHONE, payments=fake_payments)
    call.keys(*posted(keys.DISPUTE), "1")
    assert call.state == "dispute_confirm"
    call.press("1")
    assert call.state == "dispute_recorded"
    [dispute] = call.session.scalars(select(Dispute)).all()
    assert dispute.amount_cents == 14250
    turn = call.keys("*", "1")  # the main menu, then pay
    # Only offered, to be paid of the caller's own accord.
    assert turn.say[0] == Prompt("pay_menu_disputed", {"amount": Money(14250), "digit": 1})
    assert call.state == "pay_menu"
    assert fake_payments.orders == []
