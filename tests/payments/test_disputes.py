"""Disputed amounts (payments/disputes.py) on both databases: recorded with a reference number
from the confirmation series, held out of what is asked for, arranged, reconnected and charged."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ivr.config import Settings
from ivr.db import transaction
from ivr.models import AuditEvent, DisputeStatus
from payments import arrangements as rules
from payments import disputes
from payments.amounts import amounts_due
from payments.arrangements import ArrangementPolicy, Extension, Offers, Refusal, Refused
from payments.confirmation import is_valid
from payments.disputes import DisputeError, Scope
from payments.ledger import number_taken
from tests.support.factories import add_account

NOW = dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)
POLICY = ArrangementPolicy.from_settings(Settings())


def dispute(factory, account, cents, scope=Scope.AMOUNT):
    with transaction(factory) as session:
        return disputes.open_dispute(
            session, account.id, cents, scope, channel="voice", session_sid="CA1",
            actor="caller:+15005550006", now=NOW,
        )  # fmt: skip


def due(factory, account):
    with transaction(factory) as session:
        found = amounts_due(session, session.merge(account), POLICY.reconnection_fee_cents)
        return found.full_cents, found.minimum_cents


pytestmark = pytest.mark.ada(due_date="2026-12-01")


def test_a_dispute_gets_a_reference_from_the_confirmation_series_and_is_audited(
    standalone_factory, ada
):
    made = dispute(standalone_factory, ada, 5000)
    assert is_valid(made.reference_number)
    assert made.status is DisputeStatus.OPEN
    with transaction(standalone_factory) as session:
        assert number_taken(session)(made.reference_number)
        [event] = session.scalars(select(AuditEvent)).all()
        assert (event.action, event.detail["amount_cents"]) == ("dispute.opened", 5000)


@pytest.mark.parametrize(
    ("disputed", "expected"),
    [
        ([], (14250, 3500)),
        ([5000], (9250, 3500)),
        ([5000, 7000], (2250, 2250)),  # the minimum never exceeds what is owed
        ([14250], (0, 0)),
    ],
)
def test_open_disputes_are_held_out_of_the_amounts_due(standalone_factory, ada, disputed, expected):
    for cents in disputed:
        dispute(standalone_factory, ada, cents)
    assert due(standalone_factory, ada) == expected


@pytest.mark.parametrize("cents", [0, -100, 14251])
def test_more_than_is_owed_or_nothing_cannot_be_disputed(standalone_factory, ada, cents):
    with pytest.raises(DisputeError, match="14250 cents can be disputed"):
        dispute(standalone_factory, ada, cents)


def test_an_amount_already_disputed_cannot_be_disputed_twice(standalone_factory, ada):
    dispute(standalone_factory, ada, 14250, Scope.BALANCE)
    with pytest.raises(DisputeError, match="0 cents can be disputed"):
        dispute(standalone_factory, ada, 100)


class Told(list):
    """An outcome notice hook that remembers whom it was asked to tell, and of what."""

    def __call__(self, session, account, made):
        self.append((account.number, made.reference_number, made.status))


def resolve(session, reference, outcome, told, note=None):
    return disputes.resolve(
        session, reference, outcome, actor="operator:x", now=NOW, notify=told, note=note
    )


def test_resolving_ends_the_hold_once_and_tells_the_account_holder(standalone_factory, ada):
    made = dispute(standalone_factory, ada, 5000)
    told = Told()
    with transaction(standalone_factory) as session:
        closed = resolve(session, made.reference_number, DisputeStatus.DENIED, told, "no error")
        assert (closed.status, closed.closed_by) == (DisputeStatus.DENIED, "operator:x")
        assert closed.closed_note == "no error"
    assert told == [("70000001", made.reference_number, DisputeStatus.DENIED)]
    assert due(standalone_factory, ada)[0] == 14250
    with transaction(standalone_factory) as session, pytest.raises(DisputeError, match="already"):
        resolve(session, made.reference_number, DisputeStatus.CREDITED, told)
    with (
        transaction(standalone_factory) as session,
        pytest.raises(DisputeError, match="no dispute"),
    ):
        resolve(session, "0000000000", DisputeStatus.CREDITED, told)
    assert len(told) == 1


@pytest.mark.parametrize(
    ("note", "refusal"),
    [
        ("x" * 501, "at most 500 characters"),
        ("first line\nsecond line", "one printable line"),
        ("card 4242 4242 4242 4242 on file", "must not hold a card number"),
    ],
)
def test_a_note_that_cannot_be_kept_leaves_the_dispute_open(standalone_factory, ada, note, refusal):
    made = dispute(standalone_factory, ada, 5000)
    told = Told()
    with transaction(standalone_factory) as session, pytest.raises(DisputeError, match=refusal):
        resolve(session, made.reference_number, DisputeStatus.CREDITED, told, note)
    assert told == []
    assert due(standalone_factory, ada)[0] == 14250 - 5000


def offer(factory, account):
    with transaction(factory) as session:
        account = session.merge(account)
        owed = disputes.owed_cents(session, account)
        today = account.local_date(NOW)
        return rules.offers(POLICY, account, rules.history(session, account.id), today, owed)


def test_arrangements_cover_only_what_is_not_in_dispute(standalone_factory, ada):
    dispute(standalone_factory, ada, 10250)
    offered = offer(standalone_factory, ada)
    assert isinstance(offered, Offers)
    assert offered.amount_cents == 4000
    assert [len(plan.schedule) for plan in offered.plans] == [2]
    with transaction(standalone_factory) as session:
        made = rules.create(
            session, POLICY, ada.id, Extension(dt.date(2026, 12, 15)), now=NOW, by=rules.Origin("t")
        )
        assert made.amount_cents == 4000


def test_a_fully_disputed_balance_leaves_nothing_to_arrange(standalone_factory, ada):
    dispute(standalone_factory, ada, 14250, Scope.BALANCE)
    assert offer(standalone_factory, ada) == Refused(Refusal.NOTHING_DUE)


def test_reconnecting_costs_what_is_owed_outside_disputes_plus_the_fee(
    db, settings, standalone_factory
):
    cut_off = add_account(db, settings, status="disconnected")
    dispute(standalone_factory, cut_off, 4250)
    assert offer(standalone_factory, cut_off) == Refused(Refusal.DISCONNECTED, 10000 + 5000)
