"""Two calls on one account confirming an arrangement, or a dispute, at the same moment, on
PostgreSQL's row locks: exactly one is written, and the other caller hears why not."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from ivr.models import Account, Arrangement, ArrangementKind, Dispute, utcnow
from tests.conftest import simulator_for
from tests.support.factories import add_account
from tests.support.keys import ARRANGE, DISPUTE

ADA_DUE = utcnow().date() + dt.timedelta(days=10)
CONFIRM = "To confirm, press 1. To cancel, press 2."
RECENT = (
    "Sorry, this account already has a recent payment arrangement, so I cannot make another "
    "one by phone."
)


@pytest.mark.postgres_only
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("choices", [("1", "1"), ("1", "3"), ("3", "3")], ids=str)
def test_two_calls_confirming_at_once_make_one_arrangement(db, settings, app, choices):
    add_account(db, settings, due_date=ADA_DUE.isoformat())
    both_at_the_terms = threading.Barrier(2)

    def place_call(choice: str):
        plan = ["2"] if choice == "3" else []  # the 2-payment plan, or the latest date
        presses = iter([*ARRANGE, choice, *plan, "1", "*"])

        def keys(prompt: str) -> str | None:
            if prompt.endswith(CONFIRM):
                both_at_the_terms.wait(timeout=30)
            return next(presses, None)

        return simulator_for(app).call(keys, caller="+15005550006")

    with ThreadPoolExecutor(2) as pool:
        records = list(pool.map(place_call, choices, timeout=120))

    db.rollback()
    [made] = db.scalars(select(Arrangement)).all()
    account = db.scalars(select(Account)).one()
    won = [r for r in records if "Your arrangement is set." in r.said]
    lost = [r for r in records if RECENT in r.said]
    assert (len(won), len(lost)) == (1, 1)
    number = made.confirmation_number
    spoken = ", ".join(" ".join(part) for part in (number[:3], number[3:6], number[6:]))
    assert f"Your confirmation number is {spoken}." in won[0].said
    expected_due = made.due_date if made.kind is ArrangementKind.EXTENSION else ADA_DUE
    assert account.due_date == expected_due


@pytest.mark.postgres_only
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_calls_disputing_the_whole_amount_at_once_record_one_dispute(db, settings, app):
    add_account(db, settings, due_date=ADA_DUE.isoformat())
    both_at_the_confirm = threading.Barrier(2)

    def place_call(_: int):
        presses = iter([*DISPUTE, "1", "1", "*"])

        def keys(prompt: str) -> str | None:
            if prompt.endswith(CONFIRM) and "disputing" in prompt:
                both_at_the_confirm.wait(timeout=30)
            return next(presses, None)

        return simulator_for(app).call(keys, caller="+15005550006")

    with ThreadPoolExecutor(2) as pool:
        records = list(pool.map(place_call, range(2), timeout=120))

    db.rollback()
    [dispute] = db.scalars(select(Dispute)).all()
    assert dispute.amount_cents == 14250
    changed = "Sorry, the amount you can dispute has just changed."
    assert sorted(changed in r.said for r in records) == [False, True]
    loser = next(r for r in records if changed in r.said)
    assert "There is no amount due on this account to dispute." in loser.said
