"""``ivr worker`` following bank debits on the sandbox rail (both databases): a debit dated in
the past settles, or comes back with its reason code, restoring the balance and telling the
customer by text and email. The worker takes the real clock, so the debits are dated before it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ivr.channels.services import build_payments
from ivr.models import (
    Account,
    BankDebit,
    DebitState,
    OutboxMessage,
    OutboxStatus,
    Payment,
    PaymentStatus,
    utcnow,
)
from payments.rails.sandbox import SETTLES
from payments.service import Authorize, BankInHand
from tests.support.card_scan import leaks
from tests.support.cli import cli_env, run_ivr
from tests.support.factories import account_of, add_account, bank_payment

R01 = "000222222227"


@pytest.fixture
def env(database_url):
    return cli_env(database_url, LOG_LEVEL="WARNING")


def test_the_worker_settles_one_debit_returns_another_and_tells_the_customer(
    db, settings, env, standalone_factory
):
    ada = add_account(db, settings, email="ada@example.com")
    service = build_payments(settings, standalone_factory)
    week_ago = utcnow().date() - dt.timedelta(days=7)
    kept = bank_payment(standalone_factory, ada.id, week_ago, "bank-kept", 4_000)
    back = bank_payment(standalone_factory, ada.id, week_ago, "bank-back", 6_000)
    for payment_id, number in ((kept, SETTLES), (back, R01)):
        order = Authorize(payment_id, BankInHand(account_of(number)))
        assert service.authorize(order, utcnow()).status is PaymentStatus.APPROVED
    db.expire_all()
    assert db.get(Account, ada.id).balance_cents == 14_250 - 10_000

    first = run_ivr(["worker", "--once"], env)
    again = run_ivr(["worker", "--once"], env)

    assert first.exit_code == 0, first.output
    assert "bank debits: returned 1, settled 1" in first.stdout
    assert "bank debits" not in again.stdout
    db.expire_all()
    assert db.get(Account, ada.id).balance_cents == 14_250 - 4_000
    assert db.get(Payment, back).status is PaymentStatus.RETURNED
    assert (db.get(BankDebit, kept).state, db.get(BankDebit, back).return_code) == (
        DebitState.SETTLED,
        "R01",
    )
    notices = db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(m.channel, m.status) for m in notices] == [
        ("sms", OutboxStatus.SENT),
        ("email", OutboxStatus.SENT),
    ]
    assert notices[0].body == (
        "Riverside Utilities: your bank payment of $60.00 for account ending 0001, from the "
        "account ending 6789, was returned by your bank (R01: insufficient funds). $60.00 is "
        "due again; your balance is $102.50."
    )
    assert leaks(first.output + again.output + "".join(m.body for m in notices)) == []
