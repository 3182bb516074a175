"""Decline limits, judged by ``ledger.begin`` under the account lock: parallel tries from many
sessions cannot pass them on PostgreSQL, a replay past them gets its own row back, and a
scheduled charge on a stored card is not stopped by someone else's declines."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from ivr.channels.services import build_payments
from ivr.config import ConfigError, load_settings
from ivr.db import transaction
from ivr.models import AuditEvent, PaymentStatus
from payments import ledger
from payments.gateways import Card, ChargeResult, ChargeStatus, DeclineReason
from payments.gateways.sandbox_tables import SandboxCharge
from payments.service import Authorize, CardInHand
from tests.support.factories import add_account

LIMITS = ledger.DeclineLimits(per_session=3, per_account=5)
DECLINED_CARD = Card("4000000000000002", 12, 2030, "123", "94105")
DECLINE = ChargeResult(ChargeStatus.DECLINED, decline_reason=DeclineReason.DECLINED)


@pytest.fixture
def account(standalone_factory, settings):
    with standalone_factory() as session:
        return add_account(session, settings)


def new(account, key, sid="CA1", channel="voice"):
    return ledger.NewPayment(account.id, 1000, 0, key, channel, sid, "sandbox", "visa", "0002")


def begin(factory, payment, declines=LIMITS):
    with transaction(factory) as session:
        return ledger.begin(session, payment, allow_overpayment=False, declines=declines).id


def decline(factory, payment_id):
    with transaction(factory) as session:
        ledger.settle(session, payment_id, DECLINE)


@pytest.mark.parametrize("name", ["MAX_DECLINES_PER_SESSION", "MAX_DECLINES_PER_ACCOUNT"])
def test_the_limits_must_allow_one_card(name):
    assert ledger.DeclineLimits.from_settings(load_settings(environ={})) == LIMITS
    with pytest.raises(ConfigError, match="must be 1 or more"):
        load_settings(environ={name: "0"})


def test_a_session_past_its_limit_is_refused_and_audited(standalone_factory, account):
    for n in range(3):
        decline(standalone_factory, begin(standalone_factory, new(account, f"k{n}")))
    # The channel catches the refusal, says so, and commits: the audit entry lands with it.
    with (
        transaction(standalone_factory) as session,
        pytest.raises(ledger.DeclineLimitError) as refused,
    ):
        ledger.begin(session, new(account, "k3"), allow_overpayment=False, declines=LIMITS)
    assert refused.value.scope is ledger.DeclineScope.SESSION
    with standalone_factory() as session:
        query = select(AuditEvent).where(AuditEvent.action == "payment.decline_limit")
        [event] = session.scalars(query).all()
    assert (event.outcome, event.origin, event.detail) == (
        "refused",
        "voice:CA1",
        {"scope": "session"},
    )
    # The same key again is the row it already was, not a refusal; another call may still try.
    assert begin(standalone_factory, new(account, "k2")) > 0
    assert begin(standalone_factory, new(account, "other-call", sid="CA2")) > 0


def test_a_payment_in_flight_counts_until_it_settles(standalone_factory, account):
    for n in range(2):
        decline(standalone_factory, begin(standalone_factory, new(account, f"k{n}")))
    in_flight = begin(standalone_factory, new(account, "k2"))
    with pytest.raises(ledger.PaymentRefusedError) as refused:
        begin(standalone_factory, new(account, "k3"))
    assert not isinstance(refused.value, ledger.DeclineLimitError)  # "try again", not "no more"
    with transaction(standalone_factory) as session:
        ledger.settle(session, in_flight, ChargeResult(ChargeStatus.APPROVED, "ref", "tok"))
    assert begin(standalone_factory, new(account, "k3")) > 0


def test_a_scheduled_charge_is_not_stopped_by_declines(standalone_factory, account):
    for n in range(5):
        decline(standalone_factory, begin(standalone_factory, new(account, f"k{n}", sid=f"CA{n}")))
    with pytest.raises(ledger.DeclineLimitError) as refused:
        begin(standalone_factory, new(account, "by-text", sid="sms-1", channel="sms"))
    assert refused.value.scope is ledger.DeclineScope.ACCOUNT
    assert begin(standalone_factory, new(account, "plan:1:1", sid=None), declines=None) > 0


@pytest.mark.postgres_only
def test_parallel_tries_from_many_calls_cannot_pass_the_account_limit(
    standalone_factory, standalone_engine, settings, account
):
    if standalone_engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE); the race needs PostgreSQL")
    service = build_payments(settings, standalone_factory)
    threads, rounds = 16, 3
    start = threading.Barrier(threads)
    now = dt.datetime.now(dt.UTC)

    def attempt(n):
        start.wait(timeout=30)
        try:
            payment_id = begin(standalone_factory, new(account, f"race-{n}", sid=f"CA{n}"))
        except ledger.PaymentRefusedError:
            return None
        return service.authorize(Authorize(payment_id, CardInHand(DECLINED_CARD)), now).status

    outcomes = []
    with ThreadPoolExecutor(threads) as pool:
        for round_ in range(rounds):
            outcomes += pool.map(attempt, range(round_ * threads, (round_ + 1) * threads))
    with standalone_factory() as session:
        charged = session.scalar(select(func.count()).select_from(SandboxCharge))
    assert charged == 5
    assert outcomes.count(PaymentStatus.DECLINED) == 5
