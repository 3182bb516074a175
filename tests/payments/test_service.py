"""PaymentService with a stored card: charged once under the payment's key, settled once."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.channels.services import build_payments
from ivr.config import Settings
from ivr.db import transaction
from ivr.models import Account, PaymentStatus
from payments import ledger
from payments.gateways import Card, ChargeRequest
from payments.gateways.sandbox import SandboxGateway
from payments.gateways.sandbox_tables import SandboxCharge
from payments.service import Authorize, PaymentService, SavedCard
from tests.support.factories import add_account

NOW = dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def service(settings: Settings, standalone_factory: sessionmaker[Session]) -> PaymentService:
    return build_payments(settings, standalone_factory, SandboxGateway(standalone_factory))


def pending(factory: sessionmaker[Session], account_id: int, key: str, cents: int) -> int:
    new = ledger.NewPayment(
        account_id=account_id,
        amount_cents=cents,
        fee_cents=0,
        idempotency_key=key,
        channel="scheduled",
        session_sid=None,
        gateway="sandbox",
        brand="visa",
        last4="4242",
    )
    with transaction(factory) as session:
        return ledger.begin(session, new, allow_overpayment=False, declines=None).id


def test_stored_card_payment_is_charged_once_and_lowers_the_balance(
    db: Session, settings: Settings, service: PaymentService, standalone_factory
) -> None:
    account = add_account(db, settings)
    token = service.gateway.charge(
        ChargeRequest("earlier", 100, Card("4242424242424242", 12, 2030, "739", "94105"))
    ).token
    assert token is not None
    payment_id = pending(standalone_factory, account.id, "installment-7-1", 5_000)

    first = service.authorize(Authorize(payment_id, SavedCard(token)), NOW)
    again = service.authorize(Authorize(payment_id, SavedCard(token)), NOW)

    assert first.status is PaymentStatus.APPROVED
    assert (again.status, again.confirmation_number) == (first.status, first.confirmation_number)
    assert first.gateway_token == token
    db.expire_all()
    assert db.get(Account, account.id).balance_cents == 14_250 - 5_000
    keys = db.scalars(select(SandboxCharge.idempotency_key)).all()
    assert sorted(keys) == ["earlier", "installment-7-1"]


def test_unknown_token_declines_and_leaves_the_balance(
    db: Session, settings: Settings, service: PaymentService, standalone_factory
) -> None:
    account = add_account(db, settings)
    payment_id = pending(standalone_factory, account.id, "installment-8-1", 5_000)
    declined = service.authorize(Authorize(payment_id, SavedCard("tok_sbx_forged")), NOW)
    assert (declined.status, declined.decline_reason) == (PaymentStatus.DECLINED, "declined")
    db.expire_all()
    assert db.get(Account, account.id).balance_cents == 14_250
