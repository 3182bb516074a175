"""Reconnection (payments/reconnection.py, and the ledger's fee rule) on both databases: the
fee is payable once, on top of what is owed; an approval that covers it becomes one pending
request, audited, with the fee billed so that no credit is left."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.config import ConfigError, Settings
from ivr.db import transaction
from ivr.models import (
    Account,
    AuditEvent,
    Conversation,
    ReconnectionRequest,
    ReconnectionStatus,
)
from payments import ledger
from payments.disputes import Scope, open_dispute
from payments.gateways import ChargeResult, ChargeStatus
from payments.reconnection import ReconnectionPolicy, requests
from tests.support.factories import NOW, add_account

POLICY = ReconnectionPolicy(fee_cents=5000, hours=24)
APPROVED = ChargeResult(ChargeStatus.APPROVED, "ch_1", "tok_1")
KEYS = iter(range(1_000_000))


@pytest.fixture
def account(db, settings):
    return add_account(db, settings, status="disconnected", balance="250.00", minimum_due="0")


def pay(factory, account, cents, sid="CA1"):
    """Begin and approve a payment of ``cents``; the requests it made are noticed."""
    noticed = []
    hook = requests(POLICY, lambda session, acc, request: noticed.append(request.id))
    new = ledger.NewPayment(account.id, cents, 0, f"k{next(KEYS)}", "voice", sid, "sandbox")
    with transaction(factory) as session:
        payment_id = ledger.begin(
            session, new, allow_overpayment=False, declines=None, reconnection_fee_cents=5000
        ).id
    with transaction(factory) as session:
        ledger.settle(session, payment_id, APPROVED, on_approved=hook)
    return payment_id, noticed


def state(factory, account):
    with transaction(factory) as session:
        found = session.scalars(select(ReconnectionRequest)).all()
        return session.get(Account, account.id).balance_cents, found


def test_paying_what_is_owed_and_the_fee_requests_reconnection_once(standalone_factory, account):
    payment_id, noticed = pay(standalone_factory, account, 30000)
    left, [request] = state(standalone_factory, account)
    assert left == 0
    assert (request.payment_id, request.amount_cents, request.fee_cents) == (
        payment_id,
        30000,
        5000,
    )
    assert request.status is ReconnectionStatus.PENDING
    assert noticed == [request.id]
    with transaction(standalone_factory) as session:
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "reconnection.requested")
        ).all()
        assert event.detail == {
            "account": "70000001",
            "payment": payment_id,
            "amount_cents": 30000,
            "fee_cents": 5000,
        }
        assert ledger.reconnection_fee_due(session, session.get(Account, account.id), 5000) == 0


def test_while_a_request_is_pending_the_fee_is_not_payable_again(standalone_factory, account):
    pay(standalone_factory, account, 30000)
    with pytest.raises(ledger.PaymentRefusedError):
        pay(standalone_factory, account, 5000)
    assert len(state(standalone_factory, account)[1]) == 1


def test_more_than_owed_plus_the_fee_is_refused(standalone_factory, account):
    with pytest.raises(ledger.PaymentRefusedError, match="30000 cents payable"):
        pay(standalone_factory, account, 30001)


@pytest.mark.parametrize("cents", [25000, 29999])
def test_less_than_the_reconnection_amount_is_only_a_payment(standalone_factory, account, cents):
    pay(standalone_factory, account, cents)
    left, found = state(standalone_factory, account)
    assert (left, found) == (25000 - cents, [])


def test_once_the_balance_is_paid_the_fee_alone_reconnects(standalone_factory, account):
    pay(standalone_factory, account, 25000)
    pay(standalone_factory, account, 5000)
    left, [request] = state(standalone_factory, account)
    assert (left, request.amount_cents, request.fee_cents) == (0, 5000, 5000)


def test_an_amount_in_dispute_is_not_needed_to_reconnect(standalone_factory, account):
    with transaction(standalone_factory) as session:
        open_dispute(
            session, account.id, 2000, Scope.AMOUNT, channel="voice", session_sid="CA0",
            actor="caller:x", now=NOW,
        )  # fmt: skip
    pay(standalone_factory, account, 28000)
    left, [request] = state(standalone_factory, account)
    assert (left, request.amount_cents) == (2000, 28000)  # the disputed part stays


def test_an_account_that_is_not_disconnected_pays_no_fee(standalone_factory, db, settings):
    active = add_account(db, settings, balance="250.00", minimum_due="0")
    with pytest.raises(ledger.PaymentRefusedError):
        pay(standalone_factory, active, 30000)
    pay(standalone_factory, active, 25000)
    assert state(standalone_factory, active) == (0, [])


def test_the_request_is_in_the_language_of_the_paying_conversation(standalone_factory, account):
    with transaction(standalone_factory) as session:
        session.add(
            Conversation(
                sid="CAes", caller="+15005550006", state="pay_confirm", data={},
                language="es-US", turn=1, expires_at=NOW,
            )
        )  # fmt: skip
    pay(standalone_factory, account, 30000, sid="CAes")
    assert state(standalone_factory, account)[1][0].language == "es-US"


def test_the_policy_is_checked_when_built():
    assert ReconnectionPolicy.from_settings(Settings()) == ReconnectionPolicy(5000, 24)
    with pytest.raises(ConfigError, match="RECONNECTION_HOURS"):
        ReconnectionPolicy.from_settings(Settings(RECONNECTION_HOURS=0))
