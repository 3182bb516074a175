"""The agent console shows the verification locks in force: on a looked-up account, and on
the phone of a call handed to the agent, so the agent knows why the IVR turned a caller away."""

from __future__ import annotations

import datetime as dt

import pytest

from ivr.models import LockoutCounter, utcnow
from ivr.simulator.emulator import keys_from
from tests.support.agent_desk import WaitingCaller, section, take_call
from verification import lockout

PHONE = "+15005550006"


pytestmark = pytest.mark.ada(phone=PHONE)


def test_a_looked_up_account_shows_its_lock_and_how_often_it_locked(client, db, desk, ada):
    until = utcnow() + dt.timedelta(minutes=20)
    db.add_all(
        [
            LockoutCounter(subject="account:70000001", failures=0, locked_until=until),
            LockoutCounter(
                subject="locks:account:70000001", failures=2, window_started_at=utcnow()
            ),
        ]
    )
    db.commit()
    page = client.get("/agent/accounts?number=70000001").get_data(as_text=True)
    shown = section(page, "account-locks")
    assert (
        f"account:70000001: locked until {until.strftime('%Y-%m-%d %H:%M')} UTC "
        "(2 locks in 24 hours)."
    ) in shown
    assert "ivr locks clear" in shown


def test_a_hard_lock_says_it_lasts_until_lifted(client, db, desk, ada):
    db.add(LockoutCounter(subject="account:70000001", failures=0, locked_until=lockout.HARD_LOCK))
    db.commit()
    page = client.get("/agent/accounts?number=70000001").get_data(as_text=True)
    assert "account:70000001: locked until lifted. Lift this lock" in section(page, "account-locks")


def test_an_account_without_locks_says_so(client, db, desk, ada):
    expired = utcnow() - dt.timedelta(minutes=1)
    db.add(LockoutCounter(subject="account:70000001", failures=2, locked_until=expired))
    db.commit()
    page = client.get("/agent/accounts?number=70000001").get_data(as_text=True)
    assert "None: the caller can verify by phone and text." in section(page, "account-locks")


def test_the_call_of_a_locked_phone_shows_that_lock(app, client, db, desk, ada):
    """The caller's phone is locked, so the IVR offers a person; the agent sees why."""
    until = utcnow() + dt.timedelta(minutes=25)
    db.add(LockoutCounter(subject=f"caller:{PHONE}", failures=0, locked_until=until))
    db.commit()
    caller = WaitingCaller(app, [], keys=keys_from(["", "1", "0", "1"]), caller=PHONE)
    call = take_call(desk, db)
    assert not call.verified
    page = client.get(f"/agent/calls/{call.id}").get_data(as_text=True)
    shown = section(page, "caller-locks")
    assert f"caller:{PHONE}: locked until {until.strftime('%Y-%m-%d %H:%M')} UTC." in shown
    caller.hang_up()


def test_a_call_from_an_unlocked_phone_shows_no_lock_section(app, client, db, desk, ada):
    caller = WaitingCaller(app, [], caller=PHONE)
    call = take_call(desk, db)
    page = client.get(f"/agent/calls/{call.id}").get_data(as_text=True)
    assert 'id="caller-locks"' not in page
    assert "None: the caller can verify by phone and text." in section(page, "account-locks")
    caller.hang_up()
