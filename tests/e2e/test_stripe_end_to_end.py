"""Whole calls paying through the Stripe adapter, against a local fake of Stripe's API."""

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ivr.cli import main
from ivr.models import Account, Payment, PaymentStatus
from ivr.simulator.emulator import keys_from
from tests.conftest import simulator_for
from tests.support.factories import add_account
from tests.support.fake_stripe import API_KEY, running_fake_stripe
from tests.support.keys import PAY_FULL, card


@pytest.fixture
def stripe():
    with running_fake_stripe() as fake:
        yield fake


@pytest.fixture
def stripe_app(make_app, stripe):
    app = make_app(
        PAYMENT_GATEWAY="stripe",
        STRIPE_API_KEY=API_KEY,
        STRIPE_API_BASE=stripe.base_url,
        GATEWAY_TIMEOUT_SECONDS=1,
    )
    yield app
    app.extensions["ivr"].payments.gateway.close()


def place(app, settings, presses):
    return simulator_for(app).call(keys_from(presses), caller="+15005550006")


def ledger(db):
    db.rollback()
    return db.scalars(select(Payment)).all(), db.scalar(select(Account.balance_cents))


def test_a_stripe_payment_is_approved_once(stripe_app, stripe, db, settings):
    add_account(db, settings)
    record = place(stripe_app, settings, [*PAY_FULL, *card("4242424242424242"), "1", ""])
    [payment], balance = ledger(db)
    assert payment.status is PaymentStatus.APPROVED
    assert payment.gateway == "stripe"
    assert payment.gateway_reference.startswith("pi_")
    assert payment.gateway_token.startswith("pm_")
    assert (stripe.charges, balance) == (1, 0)
    assert "Thank you, your payment is approved." in record.said
    assert "4242424242424242" not in stripe.books()


def test_a_stripe_decline_is_explained(stripe_app, stripe, db, settings):
    add_account(db, settings)
    record = place(stripe_app, settings, [*PAY_FULL, *card("4000000000009995"), "1", "*"])
    [payment], balance = ledger(db)
    assert (payment.status, payment.decline_reason) == (
        PaymentStatus.DECLINED,
        "insufficient_funds",
    )
    assert balance == 14250
    assert any("insufficient funds" in line for line in record.said)


def test_a_lost_stripe_answer_is_reconciled_from_stripe(stripe_app, stripe, db, settings, config):
    add_account(db, settings)
    stripe.stall_next(process=True, seconds=3)
    place(stripe_app, settings, [*PAY_FULL, *card("4242424242424242"), "1", ""])
    [payment], balance = ledger(db)
    assert (payment.status, balance, stripe.charges) == (PaymentStatus.UNKNOWN, 14250, 1)
    env = {
        "DATABASE_URL": config["DATABASE_URL"],
        "PAYMENT_GATEWAY": "stripe",
        "STRIPE_API_KEY": API_KEY,
        "STRIPE_API_BASE": stripe.base_url,
        "LOG_LEVEL": "WARNING",
    }
    result = CliRunner(env=env).invoke(main, ["reconcile", "--older-than", "0"])
    assert "unknown -> approved" in result.output, result.output
    [payment], balance = ledger(db)
    assert (payment.status, balance, stripe.charges) == (PaymentStatus.APPROVED, 0, 1)
