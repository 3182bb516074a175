"""Card fields die with their call even when nobody reports its end: the capture store is
swept by ``ivr worker`` and ``ivr sessions purge``, and a capture goes with its session."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.models import CardCapture, Conversation, SessionStatus, utcnow
from ivr.simulator.emulator import CallRecord, keys_from
from tests.support.card_scan import CODE, decryptable
from tests.support.cli import cli_env, run_ivr
from tests.support.factories import add_account
from tests.support.keys import PAY_FULL, VISA, card
from tests.support.webhooks import vanishing_simulator

KEYED_TO_THE_CODE = [*PAY_FULL, *card()[:3]]


def vanished_call(app: Flask, db: Session, settings: Settings) -> CallRecord:
    """A call that keys a card up to its security code and is gone, with no final status."""
    add_account(db, settings)
    record = vanishing_simulator(app).call(keys_from(KEYED_TO_THE_CODE), caller="+15005550006")
    assert record.hung_up_by == "caller"
    db.rollback()
    assert db.get(Conversation, record.call_sid).status is SessionStatus.ACTIVE
    assert decryptable(db, settings.CAPTURE_KEY) == [
        {"number": VISA, "exp_month": "12", "exp_year": "2030", "code": CODE}
    ]
    return record


def age(db: Session, model: type[Conversation] | type[CardCapture], by: dt.timedelta) -> None:
    """Move every row's expiry back by ``by``, as that much time passing would."""
    db.rollback()
    db.execute(update(model).values(expires_at=utcnow() - by))
    db.commit()


def test_a_vanished_calls_card_is_gone_after_its_ttl_and_one_worker_pass(
    app: Flask, db: Session, settings: Settings, database_url: str
) -> None:
    vanished_call(app, db, settings)
    env = cli_env(database_url)

    early = run_ivr(["worker", "--once"], env)  # the call may still be keying: leave it
    assert (early.exit_code, early.stdout) == (0, "")
    assert len(decryptable(db, settings.CAPTURE_KEY)) == 1

    age(db, CardCapture, dt.timedelta(seconds=1))  # its time-to-live is over
    swept = run_ivr(["worker", "--once"], env)

    assert swept.exit_code == 0, swept.output
    assert swept.stdout.rstrip().endswith(" expired card captures deleted: 1")
    assert decryptable(db, settings.CAPTURE_KEY) == []


def test_purging_a_session_takes_its_capture_with_it(
    app: Flask, db: Session, settings: Settings, database_url: str
) -> None:
    """The session expired long ago; the capture's own expiry has not even passed (it cannot
    be, but the foreign key alone must be enough): no blob stays behind without its call."""
    vanished_call(app, db, settings)
    age(db, Conversation, dt.timedelta(hours=48))

    purged = run_ivr(["sessions", "purge"], cli_env(database_url))

    assert decryptable(db, settings.CAPTURE_KEY) == []
    assert purged.stdout == "Purged 1 expired sessions and 0 expired card captures.\n"


def test_purge_deletes_expired_captures_of_sessions_it_keeps(
    app: Flask, db: Session, settings: Settings, database_url: str
) -> None:
    vanished_call(app, db, settings)
    age(db, CardCapture, dt.timedelta(seconds=1))

    purged = run_ivr(["sessions", "purge"], cli_env(database_url))

    assert decryptable(db, settings.CAPTURE_KEY) == []
    assert purged.stdout == "Purged 0 expired sessions and 1 expired card captures.\n"
