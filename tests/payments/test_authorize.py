"""PaymentService.authorize, the one entry point that moves money: every source of a card,
charged at most once per key, settled once, reconciled when the card is gone."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.channels.services import build_payments
from ivr.config import Settings
from ivr.db import transaction
from ivr.models import Account, CardCapture, Conversation, PaymentStatus
from payments import ledger
from payments.gateways import Card, ChargeRequest, ChargeResult, ChargeStatus, GatewayError
from payments.gateways.sandbox import SandboxGateway
from payments.gateways.sandbox_tables import SandboxCharge
from payments.service import Authorize, CardInHand, PaidElsewhere, PaymentService
from tests.support.card_scan import decryptable
from tests.support.factories import add_account

NOW = dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)
SID = "CA" + "7" * 32


class Unreachable(SandboxGateway):
    """A gateway that refuses every request before anything is charged."""

    def charge(self, request: ChargeRequest) -> ChargeResult:
        raise GatewayError("connection refused")


@pytest.fixture
def service(settings: Settings, standalone_factory: sessionmaker[Session]) -> PaymentService:
    return build_payments(settings, standalone_factory, SandboxGateway(standalone_factory))


def pending(factory: sessionmaker[Session], account: Account, key: str) -> int:
    new = ledger.NewPayment(
        account_id=account.id,
        amount_cents=5_000,
        fee_cents=0,
        idempotency_key=key,
        channel="voice",
        session_sid=SID,
        gateway="sandbox",
    )
    with transaction(factory) as session:
        return ledger.begin(session, new, allow_overpayment=False, declines=None).id


def keyed(service: PaymentService, number: str = "4242424242424242") -> None:
    """A card keyed into the call's vault, one field a webhook; what the flow then asks for."""
    with transaction(service.factory) as session:
        session.merge(Conversation(sid=SID, state="card_number", expires_at=NOW + dt.timedelta(1)))
    for enter in (
        lambda vault: vault.enter_number(SID, number),
        lambda vault: vault.enter_expiry(SID, "1230"),
        lambda vault: vault.enter_code(SID, "739"),
        lambda vault: vault.enter_zip(SID, "94105"),
    ):
        with transaction(service.factory) as session:
            assert enter(service.vault(session, NOW)).ok


def captured(service: PaymentService, payment_id: int, now: dt.datetime = NOW) -> Authorize:
    with transaction(service.factory) as session:
        return Authorize(payment_id, service.vault(session, now).captured(SID))


def charges(db: Session) -> list[str]:
    db.rollback()
    return list(db.scalars(select(SandboxCharge.idempotency_key)))


def test_a_captured_card_is_charged_once_and_its_fields_die_with_the_settlement(
    db: Session, settings: Settings, service: PaymentService, standalone_factory
) -> None:
    account = add_account(db, settings)
    keyed(service)
    payment_id = pending(standalone_factory, account, f"{SID}:1")
    order = captured(service, payment_id)

    first = service.authorize(order, NOW)
    again = service.authorize(order, NOW)  # a replayed webhook asks again

    assert first.status is PaymentStatus.APPROVED
    assert (first.exp_month, first.exp_year) == (12, 2030)
    assert (again.status, again.confirmation_number) == (first.status, first.confirmation_number)
    assert charges(db) == [f"{SID}:1"]
    assert db.scalars(select(CardCapture)).all() == []
    assert decryptable(db, settings.CAPTURE_KEY) == []


def test_a_capture_gone_before_the_charge_is_reconciled_not_sent(
    db: Session, settings: Settings, service: PaymentService, standalone_factory
) -> None:
    account = add_account(db, settings)
    keyed(service)
    payment_id = pending(standalone_factory, account, f"{SID}:1")
    much_later = NOW + dt.timedelta(hours=1)  # past the capture's time-to-live
    settled = service.authorize(captured(service, payment_id, much_later), much_later)
    assert settled.status is PaymentStatus.FAILED
    assert charges(db) == []


def test_an_answer_from_pay_is_settled_as_it_is_without_asking_the_gateway(
    db: Session, settings: Settings, service: PaymentService, standalone_factory
) -> None:
    account = add_account(db, settings)
    payment_id = pending(standalone_factory, account, "twilio-pay-1")
    answer = ChargeResult(ChargeStatus.APPROVED, "pay_ref", "tok_twilio")
    paid = PaidElsewhere(answer, brand="visa", last4="1111", exp=(4, 2031))

    settled = service.authorize(Authorize(payment_id, paid), NOW)

    assert settled.status is PaymentStatus.APPROVED
    assert (settled.brand, settled.last4, settled.exp_month, settled.exp_year) == (
        "visa",
        "1111",
        4,
        2031,
    )
    assert settled.gateway_token == "tok_twilio"
    assert charges(db) == []
    db.expire_all()
    assert db.get(Account, account.id).balance_cents == 14_250 - 5_000


def test_a_gateway_that_cannot_be_asked_fails_the_payment_without_a_charge(
    db: Session, settings: Settings, standalone_factory
) -> None:
    service = build_payments(settings, standalone_factory, Unreachable(standalone_factory))
    account = add_account(db, settings)
    payment_id = pending(standalone_factory, account, "page-1")
    card = CardInHand(Card("4242424242424242", 12, 2030, "739", "94105"))
    settled = service.authorize(Authorize(payment_id, card), NOW)
    assert (settled.status, settled.decline_reason) == (PaymentStatus.FAILED, "processing_error")
    db.expire_all()
    assert db.get(Account, account.id).balance_cents == 14_250
