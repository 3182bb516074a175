"""Failures between the gateway and our commit: nothing is charged twice, nothing is lost.

The faults are injected at the gateway boundary (a wrapper around the real sandbox gateway),
never inside our own payment logic.
"""

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ivr.cli import main
from ivr.models import Account, Payment, PaymentStatus
from ivr.simulator.emulator import WebhookRefusedError, keys_from
from payments.gateways import ChargeRequest, ChargeResult, GatewayTimeout
from payments.gateways.sandbox import SandboxGateway
from payments.gateways.sandbox_tables import SandboxCharge
from payments.service import Authorize, PaymentService
from tests.conftest import simulator_for
from tests.support.card_scan import decryptable
from tests.support.keys import paying

PAY = paying()


class CrashAfterCharge(SandboxGateway):
    """The process dies right after the gateway approved: the answer never reaches us."""

    def charge(self, request: ChargeRequest) -> ChargeResult:
        super().charge(request)
        raise SystemError("worker killed between gateway approval and commit")


class TimeoutBeforeCharge(SandboxGateway):
    def charge(self, request: ChargeRequest) -> ChargeResult:
        raise GatewayTimeout("no answer")


class TimeoutAfterCharge(SandboxGateway):
    def charge(self, request: ChargeRequest) -> ChargeResult:
        super().charge(request)
        raise GatewayTimeout("answer lost")


@pytest.fixture
def app_with(make_app, standalone_factory):
    """An app whose gateway is the given sandbox wrapper, keeping its books like a processor."""
    return lambda gateway_class: make_app(gateway=gateway_class(standalone_factory))


def simulate(app, settings, presses):
    return simulator_for(app).call(keys_from(presses), caller="+15005550006")


def captured(service: PaymentService, payment_id: int, sid: str, now: dt.datetime) -> Authorize:
    """What the voice channel asks for: the payment, with the card its call's vault holds."""
    with service.factory() as session:
        return Authorize(payment_id, service.vault(session, now).captured(sid))


def reconcile(database_url):
    env = {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    return CliRunner(env=env).invoke(main, ["reconcile", "--older-than", "0"])


def state(db):
    db.rollback()
    db.expire_all()
    payments = db.scalars(select(Payment)).all()
    balance = db.scalar(select(Account.balance_cents))
    charges = db.scalars(select(SandboxCharge)).all()
    return payments, balance, charges


def test_crash_after_approval_is_settled_by_reconcile_exactly_once(
    app_with, db, settings, ada, database_url
):
    app = app_with(CrashAfterCharge)
    with pytest.raises(WebhookRefusedError, match="500"):
        simulate(app, settings, PAY)
    [payment], balance, charges = state(db)
    assert (payment.status, balance, len(charges)) == (PaymentStatus.PENDING, 14250, 1)

    result = reconcile(database_url)
    assert result.exit_code == 0, result.output
    assert f"payment {payment.id}: pending -> approved" in result.output
    [payment], balance, charges = state(db)
    assert payment.status is PaymentStatus.APPROVED
    assert payment.confirmation_number is not None
    assert (balance, len(charges)) == (0, 1)

    again = reconcile(database_url)
    assert "Reconciled 0 payments" in again.output
    # The caller calls back and hears the confirmation number from the main menu.
    record = simulate(app, settings, [*PAY[:4], "2"])  # nothing due: the menu, 2
    digits = " ".join(payment.confirmation_number[:3])
    assert any(f"Its confirmation number is {digits}" in line for line in record.said)


def test_reconcile_settling_a_payment_wipes_its_capture(app_with, db, settings, ada, database_url):
    """The process died after the charge, before the call heard back: no webhook and no final
    status will ever wipe the card. Settling the payment does, whoever settles it."""
    with pytest.raises(WebhookRefusedError, match="500"):
        simulate(app_with(CrashAfterCharge), settings, PAY)
    assert len(decryptable(db, settings.CAPTURE_KEY)) == 1

    assert reconcile(database_url).exit_code == 0

    [payment], _, _ = state(db)
    assert payment.status is PaymentStatus.APPROVED
    assert decryptable(db, settings.CAPTURE_KEY) == []


def test_gateway_timeout_leaves_the_payment_unknown_and_the_caller_told(
    app_with, db, settings, ada, database_url
):
    record = simulate(app_with(TimeoutBeforeCharge), settings, [*PAY, ""])
    assert any(line.startswith("We could not confirm your payment") for line in record.said)
    [payment], balance, charges = state(db)
    assert (payment.status, balance, charges) == (PaymentStatus.UNKNOWN, 14250, [])
    # Nothing reached the gateway, so reconcile records that nothing was charged.
    assert reconcile(database_url).exit_code == 0
    [payment], balance, _ = state(db)
    assert (payment.status, balance) == (PaymentStatus.FAILED, 14250)


def test_timeout_after_the_charge_is_never_retried_under_a_new_key(
    app_with, db, settings, ada, database_url
):
    simulate(app_with(TimeoutAfterCharge), settings, [*PAY, ""])
    [payment], _, charges = state(db)
    assert payment.status is PaymentStatus.UNKNOWN
    assert [c.idempotency_key for c in charges] == [payment.idempotency_key]
    assert reconcile(database_url).exit_code == 0
    [payment], balance, charges = state(db)
    assert (payment.status, balance, len(charges)) == (PaymentStatus.APPROVED, 0, 1)


def test_execute_twice_charges_once(app, db, settings, ada):
    service = app.extensions["ivr"].payments
    simulate(app, settings, [*PAY[:-1], "2"])  # cancel: no payment row, capture wiped
    assert state(db)[0] == []
    record = simulate(app, settings, [*PAY, ""])
    [payment], _, charges = state(db)
    now = dt.datetime.now(dt.UTC)
    again = service.authorize(captured(service, payment.id, record.call_sid, now), now)
    assert again.status is PaymentStatus.APPROVED
    assert len(charges) == 1
    assert record.hung_up_by == "ivr"


def test_a_payment_whose_card_expired_before_authorizing_fails_without_a_charge(
    app, db, settings, ada
):
    service = app.extensions["ivr"].payments
    record = simulate(app, settings, PAY[:-1])  # hangs up at the read-back
    assert record.hung_up_by == "caller"
    with service.factory() as session, session.begin():
        from payments import ledger

        payment = ledger.begin(
            session,
            ledger.NewPayment(
                account_id=ada.id,
                amount_cents=1000,
                fee_cents=0,
                idempotency_key="late-1",
                channel="voice",
                session_sid=record.call_sid,
                gateway="sandbox",
            ),
            allow_overpayment=False,
            declines=ledger.DeclineLimits.from_settings(settings),
        )
        payment_id = payment.id
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    late = service.authorize(captured(service, payment_id, record.call_sid, later), later)
    assert late.status is PaymentStatus.FAILED
    assert state(db)[2] == []
