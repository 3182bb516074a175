"""An agent's secure capture on the caller's leg (flows.agent, flows.agent_capture), without HTTP:
the console's rules, the caller's keys, and the result going back to the agent."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from flows import agent as desk
from flows import agent_capture
from flows.engine import Conference, Queue, Resume
from flows.journey import CALL_FLOW
from ivr.config import Settings
from ivr.models import Account, Agent, AgentCall, AgentCapture, AuditEvent, CaptureStatus
from payments.capture import CapturedCard
from payments.gateways import ChargeResult, ChargeStatus, DeclineReason
from prompts import Money, Prompt
from tests.flows.conftest import ADA_PHONE, APPROVED, Call, Dial, FakePayments
from tests.support.factories import balance
from tests.support.keys import card, posted

CARD = posted(card())


def handed_to(session: Session, call: Call) -> tuple[Agent, AgentCall]:
    """An agent who took the call, bridged with the caller in its conference."""
    agent = Agent(username="grace", password_hash="-")
    session.add(agent)
    session.commit()
    handoff = session.scalars(select(AgentCall).where(AgentCall.call_sid == call.conv.sid)).one()
    handoff = desk.claim(session, agent, handoff.id)
    handoff.bridged, handoff.conference_sid = True, "CF" + "0" * 32
    session.commit()
    return agent, handoff


@pytest.fixture
def capturing(
    dial: Dial, ada: Account, settings: Settings, fake_payments: FakePayments
) -> tuple[Call, AgentCapture]:
    """Ada went to an agent, who started a $50.00 secure payment: she is asked for the card."""
    call = dial(caller=ADA_PHONE, payments=fake_payments)
    assert call.keys("", "1", "1234", "94105", "0").end == Queue(settings.AGENT_QUEUE)
    agent, handoff = handed_to(call.session, call)
    capture = desk.start_capture(call.session, settings, agent, handoff.id, 5000)
    call.session.commit()
    turn = call.moved(
        lambda ctx: desk.redirected(
            CALL_FLOW, call.conv, ctx, capture_id=capture.id, step=desk.START, nonce="1"
        )
    )
    assert turn is not None
    assert turn.say[0] == Prompt("agent_capture_intro", {"amount": Money(5000)})
    assert call.state == "card_number"
    return call, capture


def test_a_repeated_redirect_changes_nothing(capturing: tuple[Call, AgentCapture]) -> None:
    call, capture = capturing
    again = call.moved(
        lambda ctx: desk.redirected(
            CALL_FLOW, call.conv, ctx, capture_id=capture.id, step=desk.START, nonce="1"
        )
    )
    assert again is None


def test_each_field_lands_on_the_capture_as_a_verdict(
    capturing: tuple[Call, AgentCapture],
) -> None:
    call, capture = capturing
    call.press("4242424242424241")  # fails the Luhn check
    call.session.refresh(capture)
    assert capture.fields["card_number"] == {"status": "invalid", "reason": "card_number_invalid"}
    call.press(CARD[0])
    call.session.refresh(capture)
    assert capture.fields["card_number"]["status"] == agent_capture.VALID
    assert (capture.brand, capture.last4) == ("visa", "4242")
    assert capture.fields["card_expiry"]["status"] == agent_capture.ENTERING


def test_an_approval_goes_back_to_the_agent_with_the_confirmation_number(
    capturing: tuple[Call, AgentCapture], fake_payments: FakePayments, ada: Account
) -> None:
    call, capture = capturing
    call.keys(*CARD)
    assert call.press("1").resume
    call.session.refresh(capture)
    assert capture.status is CaptureStatus.AUTHORIZING and capture.payment_id is not None
    fake_payments.answers.append(APPROVED)
    turn = call.send(Resume())

    [order] = fake_payments.orders
    assert order.payment_id == capture.payment_id and isinstance(order.source, CapturedCard)
    call.session.refresh(capture)
    assert capture.status is CaptureStatus.APPROVED
    assert all(field["status"] == agent_capture.DONE for field in capture.fields.values())
    assert turn.say[0] == Prompt("payment_approved", {"amount": Money(5000)})
    assert turn.say[-1] == Prompt("returning_to_agent")
    assert turn.end == Conference(desk.conference_name(call.conv.sid))
    assert balance(call.session, ada) == 14250 - 5000
    results = call.session.scalars(
        select(AuditEvent.outcome).where(AuditEvent.action == "agent.capture.result")
    ).all()
    assert results == ["approved"]


def test_a_decline_is_told_to_caller_and_agent_alike(
    capturing: tuple[Call, AgentCapture], fake_payments: FakePayments, ada: Account
) -> None:
    call, capture = capturing
    call.keys(*CARD, "1")
    fake_payments.answers.append(
        ChargeResult(ChargeStatus.DECLINED, decline_reason=DeclineReason.DECLINED)
    )
    turn = call.send(Resume())
    call.session.refresh(capture)
    assert (capture.status, capture.reason) == (CaptureStatus.DECLINED, "declined_declined")
    assert turn.say[0] == Prompt("declined_declined")
    assert balance(call.session, ada) == 14250


def test_the_agents_cancel_drops_the_card_and_returns_the_caller(
    capturing: tuple[Call, AgentCapture], fake_payments: FakePayments
) -> None:
    call, capture = capturing
    call.press(CARD[0])
    agent = call.session.get(Agent, capture.agent_id)
    desk.cancel(call.session, agent, capture.id)
    call.session.commit()
    turn = call.moved(
        lambda ctx: desk.redirected(
            CALL_FLOW, call.conv, ctx, capture_id=capture.id, step=desk.CANCEL, nonce="2"
        )
    )
    assert turn is not None and turn.say[0] == Prompt("agent_capture_cancelled")
    assert fake_payments.orders == []


@pytest.mark.ada(status="disconnected")
def test_an_agent_may_take_the_reconnection_amount_and_no_more(
    dial: Dial, ada: Account, settings: Settings, fake_payments: FakePayments
) -> None:
    """The console's amount obeys the caller's rule: the balance plus the fee still owed."""
    call = dial(caller=ADA_PHONE, payments=fake_payments)
    call.keys("", "1", "1234", "94105", "0")
    agent, handoff = handed_to(call.session, call)
    reconnect = 14250 + settings.RECONNECTION_FEE_CENTS
    with pytest.raises(desk.ConsoleRefusedError, match=r"\$192\.50"):
        desk.start_capture(call.session, settings, agent, handoff.id, reconnect + 1)
    capture = desk.start_capture(call.session, settings, agent, handoff.id, reconnect)
    assert capture.amount_cents == reconnect
