"""Webhook behaviour: replays, stale turns, expiry, status callbacks, outages, junk input."""

import datetime as dt
import threading
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from ivr.models import (
    AuditEvent,
    CardCapture,
    Conversation,
    LockoutCounter,
    OutboxMessage,
    Payment,
    SessionStatus,
)
from ivr.simulator.emulator import keys_from
from tests.conftest import simulator_for
from tests.support.factories import add_account
from tests.support.keys import PAY_FULL, VERIFY, card
from tests.support.webhooks import call_form, post, row_counts, vanishing_simulator

SID = "CA" + "1" * 32


def said(xml: str) -> str:
    return " ".join((say.text or "") for say in ET.fromstring(xml).iter("Say"))  # noqa: S314


def session_row(db, sid=SID) -> Conversation:
    """The session as the app left it (not as this test's identity map remembers it)."""
    db.rollback()
    db.expire_all()
    return db.get(Conversation, sid)


def test_incoming_greets_and_gathers_with_turn_in_action(client, db):
    response = post(client, "/voice/incoming", call_form())
    root = ET.fromstring(response.get_data(as_text=True))  # noqa: S314
    gather = root.find("Gather")
    assert gather.get("action") == "/voice/step?turn=1"
    assert root.find("Redirect").text == "/voice/step?turn=1&silence=1"
    assert "Riverside Utilities" in said(response.get_data(as_text=True))
    assert session_row(db).state == "greeting"


def test_retried_incoming_replays_the_same_twiml_and_creates_nothing(client, db):
    first = post(client, "/voice/incoming", call_form()).get_data(as_text=True)
    second = post(client, "/voice/incoming", call_form()).get_data(as_text=True)
    assert first == second
    assert row_counts(db)[0] == 1


def test_replayed_step_is_applied_once_and_answered_identically(client, db, settings):
    add_account(db, settings)
    post(client, "/voice/incoming", call_form())
    first = post(client, "/voice/step?turn=1", call_form(Digits="1"))
    again = post(client, "/voice/step?turn=1", call_form(Digits="1"))
    assert first.get_data() == again.get_data()
    row = session_row(db)
    assert (row.state, row.turn) == ("confirm_caller_account", 2)


def test_stale_or_missing_turn_gets_the_current_prompt_again(client, db, settings):
    add_account(db, settings)
    post(client, "/voice/incoming", call_form())
    current = post(client, "/voice/step?turn=1", call_form(Digits="1")).get_data()
    for path in ("/voice/step?turn=0", "/voice/step?turn=99", "/voice/step", "/voice/step?turn=x"):
        assert post(client, path, call_form(Digits="2")).get_data() == current
    assert session_row(db).turn == 2


def test_unknown_call_sid_hears_a_polite_goodbye_and_nothing_is_written(client, db):
    response = post(client, "/voice/step?turn=3", call_form(sid="CA" + "9" * 32, Digits="1"))
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "timed out" in said(text)
    assert "<Hangup />" in text
    assert row_counts(db) == (0, 0, 0)


def test_expired_session_ends_with_a_goodbye(client, db):
    post(client, "/voice/incoming", call_form())
    row = session_row(db)
    row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db.commit()
    text = post(client, "/voice/step?turn=1", call_form(Digits="1")).get_data(as_text=True)
    assert "timed out" in said(text)
    row = session_row(db)
    assert row.status is SessionStatus.ENDED
    ended = db.scalars(select(AuditEvent).where(AuditEvent.action == "call.ended")).one()
    assert ended.outcome == "expired"


def test_completed_status_ends_the_session_once_and_clears_its_data(client, db, settings):
    add_account(db, settings)
    post(client, "/voice/incoming", call_form())
    post(client, "/voice/step?turn=1", call_form(Digits="1"))
    post(client, "/voice/step?turn=2", call_form(Digits="1"))
    assert session_row(db).data["account_number"] == "70000001"
    for _ in range(2):
        assert post(client, "/voice/status", call_form(CallStatus="completed")).status_code == 204
    row = session_row(db)
    assert (row.status, row.data) == (SessionStatus.ENDED, {})
    count = select(func.count()).where(AuditEvent.action == "call.ended")
    assert db.scalar(count) == 1


def test_non_final_status_changes_nothing(client, db):
    post(client, "/voice/incoming", call_form())
    post(client, "/voice/status", call_form(CallStatus="ringing"))
    assert session_row(db).status is SessionStatus.ACTIVE


def test_database_outage_gives_a_safe_message_not_a_500(make_app):
    app = make_app(DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/gone")
    response = post(app.test_client(), "/voice/incoming", call_form())
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "nothing was charged" in said(text)
    assert "<Hangup />" in text


@pytest.mark.postgres_only
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_connections_dropped_by_the_server_cost_one_safe_answer_then_reconnect(app, client, db):
    """The pool does not ping before each webhook; a restart of PostgreSQL is survived anyway."""
    post(client, "/voice/incoming", call_form())
    with app.extensions["ivr"].engine.connect() as pooled:  # the one the app uses
        pid = pooled.execute(text("SELECT pg_backend_pid()")).scalar_one()
    db.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    db.commit()
    dropped = post(client, "/voice/step?turn=1", call_form(Digits="1"))
    assert dropped.status_code == 200
    assert "nothing was charged" in said(dropped.get_data(as_text=True))
    assert session_row(db).turn == 1  # the failed request wrote nothing

    retried = post(client, "/voice/step?turn=1", call_form(Digits="1"))
    assert "nothing was charged" not in said(retried.get_data(as_text=True))
    assert session_row(db).turn == 2


def test_whisper_tells_the_agent_who_is_calling(make_app, db, settings):
    add_account(db, settings)
    simulator = simulator_for(make_app(AGENT_TRANSFER="dial"))
    record = simulator.call(keys_from([*VERIFY, "0"]), caller="+15005550006")
    assert record.transfers == [settings.AGENT_NUMBER]
    assert record.agent_heard == ["Verified caller. Account ending in 0 0 0 1."]


def test_concurrent_deliveries_of_one_webhook_advance_the_call_once(app, client, db, settings):
    add_account(db, settings)
    post(client, "/voice/incoming", call_form())
    post(client, "/voice/step?turn=1", call_form(Digits="1"))
    bodies: list[bytes] = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        local = app.test_client()
        barrier.wait()
        bodies.append(post(local, "/voice/step?turn=2", call_form(Digits="1")).get_data())

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(bodies)) == 1
    row = session_row(db)
    assert (row.state, row.turn) == ("enter_pin", 3)


KEYPAD_JUNK = st.text(
    alphabet=st.sampled_from("0123456789*#abc \t\n\x00é<>&'\""), min_size=0, max_size=60
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(digits=KEYPAD_JUNK, turn=st.sampled_from(["1", "2", "", "-1", "9" * 12, "1e3"]))
def test_any_digits_get_twiml_never_an_error(client, db, digits, turn):
    sid = "CA" + "7" * 32
    post(client, "/voice/incoming", call_form(sid=sid))
    response = post(client, f"/voice/step?turn={turn}", call_form(sid=sid, Digits=digits))
    assert response.status_code == 200
    root = ET.fromstring(response.get_data(as_text=True))  # noqa: S314
    assert root.tag == "Response"
    assert root.find("Say") is not None or root.find("Gather") is not None


# --- a call that is over takes no more input ------------------------------------------------

READ_BACK = [*PAY_FULL, *card()]


def gather_action(twiml: str) -> str:
    gather = ET.fromstring(twiml).find("Gather")  # noqa: S314
    assert gather is not None, twiml
    return gather.get("action")


def everything(db) -> tuple:
    """Every row a step could write: the session as stored, payments, audit, lockouts,
    captures, outbox."""
    db.rollback()
    db.expire_all()
    sessions = db.execute(select(Conversation.__table__)).all()
    tables = (Payment, AuditEvent, LockoutCounter, CardCapture, OutboxMessage)
    return (sessions, *(db.scalar(select(func.count()).select_from(t)) for t in tables))


@pytest.mark.parametrize(
    ("keys", "late"),
    [
        pytest.param(READ_BACK, "1", id="read-back-confirmed"),
        pytest.param(VERIFY, "1", id="main-menu-balance"),
        pytest.param(VERIFY[:2], "1234#", id="pin"),
        pytest.param(VERIFY[:3], "94105", id="account-detail"),
    ],
)
def test_a_keypress_after_the_call_ended_hangs_up_and_changes_nothing(
    app, db, settings, keys, late
):
    """Twilio can deliver a Gather's digits after the call's final status (a key pressed just
    before hanging up): the call is over, so nothing may move, least of all a payment."""
    add_account(db, settings)
    simulator = simulator_for(app)
    record = simulator.call(keys_from(keys), caller="+15005550006")  # hangs up at the prompt
    assert record.hung_up_by == "caller"
    assert session_row(db, record.call_sid).status is SessionStatus.ENDED
    before = everything(db)
    form = {
        "CallSid": record.call_sid,
        "AccountSid": settings.TWILIO_ACCOUNT_SID,
        "From": "+15005550006",
        "To": "+15005550000",
        "CallStatus": "completed",
        "Digits": late,
    }

    status, body = simulator.post(gather_action(record.responses[-1]), form)

    assert status == 200
    assert ET.fromstring(body)[-1].tag == "Hangup"  # noqa: S314
    assert "Goodbye." in said(body)
    assert everything(db) == before


def test_a_keypress_after_the_session_expired_takes_no_payment(app, db, settings):
    """The same keypress on a call whose end was never reported: the session is ended (its
    card fields wiped) with a goodbye, and the read-back's 1 charges nothing."""
    add_account(db, settings)
    simulator = vanishing_simulator(app)
    record = simulator.call(keys_from(READ_BACK), caller="+15005550006")
    row = session_row(db, record.call_sid)
    row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db.commit()
    form = {"CallSid": record.call_sid, "From": "+15005550006", "Digits": "1"}

    status, body = simulator.post(gather_action(record.responses[-1]), form)

    assert (status, ET.fromstring(body)[-1].tag) == (200, "Hangup")  # noqa: S314
    row = session_row(db, record.call_sid)
    assert (row.status, row.state) == (SessionStatus.ENDED, "pay_confirm")
    assert db.scalar(select(func.count()).select_from(Payment)) == 0
    assert db.scalar(select(func.count()).select_from(CardCapture)) == 0
    ended = db.scalars(select(AuditEvent.outcome).where(AuditEvent.action == "call.ended"))
    assert ended.all() == ["expired"]
