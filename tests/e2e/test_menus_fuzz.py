"""Random key presses through the arrangement, dispute and assistance menus: every webhook is
answered with TwiML, and what policy promises holds whatever the caller pressed."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ivr.models import Account, Arrangement, Dispute, DisputeStatus, Payment
from ivr.simulator.emulator import keys_from
from tests.conftest import simulator_for
from tests.support.factories import add_account
from tests.support.keys import VERIFY

KEYS = st.sampled_from(
    ["1", "2", "3", "4", "5", "6", "0", "9", "*", "#", "", "50#", "0105", "1231", "12*5#", "9999#"]
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(presses=st.lists(KEYS, min_size=1, max_size=14))
def test_any_presses_after_verification_keep_the_invariants(db, settings, app, presses):
    if db.scalar(select(func.count()).select_from(Account)) == 0:
        add_account(db, settings)
    record = simulator_for(app).call(keys_from([*VERIFY, *presses]), caller="+15005550006")

    assert record.said, "every call says something"
    db.rollback()
    account = db.scalars(select(Account)).one()
    held = db.scalar(
        select(func.coalesce(func.sum(Dispute.amount_cents), 0)).where(
            Dispute.status == DisputeStatus.OPEN
        )
    )
    assert 0 <= held <= account.balance_cents
    assert len(db.scalars(select(Arrangement)).all()) <= 1  # one per window, whatever was pressed
    assert db.scalars(select(Payment)).all() == []  # no card was ever keyed
    assert account.balance_cents == 14250
