"""``ivr arrangements run`` and ``ivr worker`` keeping arrangements made weeks ago (both
databases): the commands take the real clock, so the arrangements are dated in the past."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ivr.db import transaction
from ivr.models import (
    Arrangement,
    ArrangementStatus,
    OutboxMessage,
    OutboxStatus,
    Payment,
    PaymentStatus,
    utcnow,
)
from payments import arrangements as rules
from payments.arrangements import ArrangementPolicy, Extension, Plan
from payments.business_days import BusinessDays
from payments.gateways import Card, ChargeRequest
from payments.gateways.sandbox import SandboxGateway
from tests.support.cli import cli_env, run_ivr
from tests.support.factories import add_account

BY = rules.Origin("test")


@pytest.fixture
def env(database_url):
    return cli_env(database_url, LOG_LEVEL="WARNING")


def made_days_ago(factory, account, choice, days, card=None):
    policy = ArrangementPolicy.from_settings(rules.Settings())
    with transaction(factory) as session:
        made = rules.create(
            session,
            policy,
            account.id,
            choice,
            now=utcnow() - dt.timedelta(days=days),
            by=BY,
            card_gateway="sandbox" if card else None,
        )
        return made.id


def card_on_file(factory, account):
    card = Card("4242424242424242", 12, 2030, "739", "94105")
    token = SandboxGateway(factory).charge(ChargeRequest("earlier", 100, card)).token
    with transaction(factory) as session:
        payment = Payment(
            account_id=account.id,
            amount_cents=100,
            status=PaymentStatus.APPROVED,
            idempotency_key="earlier",
            channel="voice",
            gateway="sandbox",
            gateway_token=token,
            last4="4242",
            created_at=utcnow() - dt.timedelta(days=50),
        )
        session.add(payment)
        session.flush()
        return payment.id


def test_run_charges_the_installments_that_fell_due_and_is_safe_to_repeat(
    db, settings, env, standalone_factory
):
    ada = add_account(db, settings, due_date=(utcnow().date() + dt.timedelta(days=3)).isoformat())
    plan = made_days_ago(
        standalone_factory, ada, Plan(3), 50, card_on_file(standalone_factory, ada)
    )

    first = run_ivr(["arrangements", "run"], env)
    again = run_ivr(["arrangements", "run"], env)

    assert first.exit_code == 0, first.output
    assert first.stdout == "Arrangements: 0 reminded, 2 charged, 0 declined, 0 kept, 0 broken.\n"
    assert again.stdout == "Arrangements: 0 reminded, 0 charged, 0 declined, 0 kept, 0 broken.\n"
    db.rollback()
    charges = db.scalars(select(Payment).where(Payment.channel == "plan")).all()
    assert [p.status for p in charges] == [PaymentStatus.APPROVED] * 2
    assert db.get(Arrangement, plan).status is ArrangementStatus.ACTIVE

    listed = run_ivr(["arrangements", "list", "--status", "active"], env)
    header, row = listed.stdout.splitlines()
    assert header.split()[:6] == ["id", "made", "(UTC)", "account", "kind", "status"]
    fields = row.split()
    assert fields[3:8] == ["70000001", "installments", "active", "$142.50", "2/3"]
    assert fields[-3:-1] == ["card", "...4242"]
    assert run_ivr(["arrangements", "list", "--status", "kept"], env).stdout == (
        "No arrangements match.\n"
    )


def test_the_worker_breaks_a_missed_extension_and_delivers_the_notice(
    db, settings, env, standalone_factory
):
    due = utcnow().date() - dt.timedelta(days=55)
    ada = add_account(db, settings, due_date=due.isoformat())
    extension = made_days_ago(standalone_factory, ada, Extension(BusinessDays("US").after(due)), 60)

    result = run_ivr(["worker", "--once"], env)

    assert result.exit_code == 0, result.output
    assert "arrangements: 0 reminded, 0 charged, 0 declined, 0 kept, 1 broken" in result.stdout
    db.rollback()
    assert db.get(Arrangement, extension).status is ArrangementStatus.BROKEN
    listed = run_ivr(["arrangements", "list", "--account", "70000001"], env).stdout
    assert listed.splitlines()[1].split()[4:8] == ["extension", "broken", "$142.50", "0/1"]
    assert " caller " in listed
    notices = db.scalars(select(OutboxMessage)).all()
    assert {m.channel for m in notices} == {"sms", "email"}
    assert [(m.status, "was not kept" in m.body) for m in notices] == [
        (OutboxStatus.SENT, True)
    ] * 2


def test_bad_promise_settings_are_a_usage_error(env):
    result = run_ivr(["arrangements", "run"], {**env, "INSTALLMENT_ATTEMPTS": "0"})
    assert result.exit_code == 2
    assert "INSTALLMENT_ATTEMPTS must be at least 1" in result.stderr
