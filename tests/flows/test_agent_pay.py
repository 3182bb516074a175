"""An agent's capture by Twilio's Payments API (flows.agent_pay), without HTTP: callbacks in
our words, and the reported charge settled through the payment service."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from flows import agent as desk
from flows import agent_capture
from flows import agent_pay as pay
from flows.engine import PayResult
from ivr.config import Settings
from ivr.models import Account, AgentCapture, AuditEvent, CaptureStatus, Payment, PaymentStatus
from payments.gateways import ChargeResult, ChargeStatus, DeclineReason
from payments.service import Authorize, PaidElsewhere
from tests.flows.conftest import ADA_PHONE, Call, Dial, FakePayments
from tests.flows.test_agent import handed_to
from tests.support.factories import balance

APPROVED = ChargeResult(ChargeStatus.APPROVED, "pay_ref_9", "tok_twilio")


@pytest.fixture
def config(config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "CAPTURE_MODE": "twilio-pay"}


@pytest.fixture
def started(
    dial: Dial, ada: Account, settings: Settings, fake_payments: FakePayments
) -> tuple[Call, AgentCapture]:
    call = dial(caller=ADA_PHONE, payments=fake_payments)
    call.keys("", "1", "1234", "94105", "0")
    agent, handoff = handed_to(call.session, call)
    capture = desk.start_capture(call.session, settings, agent, handoff.id, 5000)
    call.session.commit()
    return call, capture


def test_the_pending_row_is_written_when_the_agent_starts(
    started: tuple[Call, AgentCapture],
) -> None:
    call, capture = started
    payment = call.session.get(Payment, capture.payment_id)
    assert payment is not None and payment.status is PaymentStatus.PENDING
    assert pay.first_request(capture).capture == "card_number"


def test_progress_moves_fields_forward_only(started: tuple[Call, AgentCapture]) -> None:
    call, capture = started
    session = call.session
    pay.on_status(
        session, capture.id, pay.PayStatus(capture="card_number", error="card_number_invalid")
    )
    assert capture.fields["card_number"] == {"status": "invalid", "reason": "card_number_invalid"}
    ask = pay.on_status(
        session,
        capture.id,
        pay.PayStatus(capture="card_expiry", required=("card_expiry", "card_code", "card_zip")),
    )
    assert capture.fields["card_number"]["status"] == agent_capture.VALID
    assert isinstance(ask, pay.CaptureRequest) and ask.capture == "card_expiry"
    late = pay.PayStatus(capture="card_number", error="card_number_invalid")
    pay.on_status(session, capture.id, late)  # out of order: a valid field stays valid
    assert capture.fields["card_number"]["status"] == agent_capture.VALID


def test_the_reported_charge_is_settled_through_the_payment_service_once(
    started: tuple[Call, AgentCapture], fake_payments: FakePayments, ada: Account
) -> None:
    call, capture = started
    session = call.session
    pay.on_status(session, capture.id, pay.PayStatus(brand="visa", last4="4242", required=()))
    session.commit()
    result = pay.PayStatus(result=PayResult(PaidElsewhere(APPROVED)))
    order = pay.on_status(session, capture.id, result)
    session.commit()

    # The callback's masked card is missing: the facts the progress callbacks gave are kept.
    assert order == Authorize(capture.payment_id, PaidElsewhere(APPROVED, "visa", "4242"))
    payment = fake_payments.authorize(order, call.conv.created_at)
    pay.settled(session, capture.id, payment)
    pay.settled(session, capture.id, payment)  # Twilio's retry of the result
    session.commit()

    session.refresh(capture)
    assert capture.status is CaptureStatus.APPROVED
    assert capture.confirmation_number == payment.confirmation_number is not None
    assert balance(session, ada) == 14250 - 5000
    results = session.scalars(
        select(AuditEvent.outcome).where(AuditEvent.action == "agent.capture.result")
    ).all()
    assert results == ["approved"]


def test_a_declined_charge_ends_the_capture_with_the_reason(
    started: tuple[Call, AgentCapture], fake_payments: FakePayments
) -> None:
    call, capture = started
    declined = ChargeResult(ChargeStatus.DECLINED, decline_reason=DeclineReason.INSUFFICIENT_FUNDS)
    order = pay.on_status(
        call.session, capture.id, pay.PayStatus(result=PayResult(PaidElsewhere(declined)))
    )
    call.session.commit()
    assert isinstance(order, Authorize)
    pay.settled(call.session, capture.id, fake_payments.authorize(order, call.conv.created_at))
    call.session.commit()
    call.session.refresh(capture)
    assert (capture.status, capture.reason) == (
        CaptureStatus.DECLINED,
        "declined_insufficient_funds",
    )
