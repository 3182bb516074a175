"""The amounts a caller hears and is offered (payments/amounts.py), on both databases."""

from __future__ import annotations

import datetime as dt

import pytest

from ivr.config import Settings
from ivr.db import transaction
from ivr.models import Account
from payments import arrangements as rules
from payments import disputes
from payments.amounts import AmountsDue, amounts_due
from payments.arrangements import ArrangementPolicy, Plan
from payments.promises import Due
from tests.support.factories import add_account

NOW = dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)  # Saturday, 10:00 in New York
pytestmark = pytest.mark.ada(due_date="2026-12-01")


def due(factory, account, fee=5000):
    with transaction(factory) as session:
        return amounts_due(session, session.get(Account, account.id), fee)


def test_an_active_account_owes_its_balance_and_no_fee(standalone_factory, ada):
    assert due(standalone_factory, ada) == AmountsDue(14250, 0, 0, 14250, 3500)


@pytest.mark.parametrize(("balance", "reconnect"), [("250.00", 30000), ("0", 5000)])
def test_a_disconnected_account_reconnects_for_what_it_owes_plus_the_fee(
    standalone_factory, db, settings, balance, reconnect
):
    account = add_account(db, settings, status="disconnected", balance=balance, minimum_due="0")
    found = due(standalone_factory, account)
    assert (found.reconnect_fee_cents, found.reconnect_cents) == (5000, reconnect)
    assert due(standalone_factory, account, fee=0).reconnect_cents == 0


def test_a_disputed_amount_is_apart_yet_may_be_paid(standalone_factory, ada):
    with transaction(standalone_factory) as session:
        disputes.open_dispute(
            session, ada.id, 14250, disputes.Scope.BALANCE, channel="voice", session_sid="CA1",
            actor="caller:x", now=NOW,
        )  # fmt: skip
    found = due(standalone_factory, ada)
    assert (found.disputed_cents, found.full_cents, found.minimum_cents) == (14250, 0, 0)
    assert found.with_disputed_cents == 14250


def test_a_plans_next_installment_is_among_the_amounts(standalone_factory, ada):
    with transaction(standalone_factory) as session:
        policy = ArrangementPolicy.from_settings(Settings())
        rules.create(session, policy, ada.id, Plan(3), now=NOW, by=rules.Origin("test"))
    # the first installment falls two weeks out at the soonest (Monday, December 7)
    assert due(standalone_factory, ada).installment == Due(4750, dt.date(2026, 12, 7))
