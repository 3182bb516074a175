"""The account behind an agent's call, in the console (Flask test client) with a simulated
caller on the line: its arrangements, disputes, verification locks and saved cards; lifting a
lock (audited with the agent's name) so a locked-out caller can verify again; and recording a
dispute for the caller, held out of what is due like one recorded by phone."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ivr.models import (
    AuditEvent,
    Conversation,
    Dispute,
    DisputeStatus,
    LockoutCounter,
    OutboxMessage,
    utcnow,
)
from ivr.simulator.emulator import keys_from
from payments.amounts import amounts_due
from tests.support.account_records import (
    lock,
    plan_with_one_installment_paid,
    saved_cards,
    two_disputes,
)
from tests.support.agent_desk import WaitingCaller, section, take_call
from tests.support.card_scan import database_dump, leaks
from tests.support.keys import VERIFY

ADA_PHONE = "+15005550006"
LOCKED_OUT = ["", "1", "0", ""]  # the account ending 0001: locked, so 0 for a person; waits


def audited(db, action):
    db.rollback()
    rows = db.scalars(select(AuditEvent).where(AuditEvent.action == action))
    return [(event.actor, event.outcome, event.resource) for event in rows]


def test_the_call_shows_the_accounts_arrangements_disputes_locks_and_saved_cards(
    app, client, db, desk, ada, settings, standalone_factory
):
    plan_with_one_installment_paid(db, ada)
    saved_cards(db, ada)
    denied, still_open = two_disputes(standalone_factory, ada, settings)
    caller = WaitingCaller(app, [])
    call = take_call(desk, db)
    until = utcnow() + dt.timedelta(minutes=20)
    lock(db, "account:70000001", until)  # after the caller verified: a later caller would not

    page = client.get(f"/agent/calls/{call.id}").get_data(as_text=True)
    assert (
        "2026-11-01 15:00 Installment plan active $142.50 1 of 3 $47.50 due 2026-12-20 5550001234"
    ) in section(page, "arrangements")
    listed = section(page, "disputes")
    assert f"{still_open} " in listed and "$20.00 Open: held out of the amount due -" in listed
    assert f"$10.00 Denied {utcnow():%Y-%m-%d} by operator:kim: meter read twice" in listed
    assert listed.index(still_open) < listed.index(denied)  # newest first
    assert (
        f"account:70000001: locked until {until:%Y-%m-%d %H:%M} UTC. Lift this lock"
    ) in section(page, "account-locks")
    assert section(page, "saved-cards").endswith(
        "Visa ending 4242 01/2030 active "
        "Mastercard ending 4444 01/2020 expired American Express ending 0005 01/2031 removed"
    )
    assert 'value="122.50"' in page  # a new dispute may hold what is owed and not disputed
    caller.hang_up()
    assert leaks(page) == []


def test_an_account_without_any_of_them_says_so(client, db, desk, ada):
    page = client.get("/agent/accounts?number=70000001").get_data(as_text=True)
    assert "No arrangements." in section(page, "arrangements")
    assert "No disputes." in section(page, "disputes")
    assert "No saved cards." in section(page, "saved-cards")
    assert 'id="record-dispute"' not in page  # disputes are recorded on a call


def test_a_locked_out_caller_can_verify_once_the_agent_lifts_the_lock(
    app, client, db, desk, ada, simulator
):
    lock(db, "account:70000001")
    caller = WaitingCaller(app, [], keys=keys_from(LOCKED_OUT), caller=ADA_PHONE)
    call = take_call(desk, db)
    assert not call.verified
    looked_up = "/agent/accounts?number=70000001"
    page = client.get(looked_up).get_data(as_text=True)
    assert "Lift this lock" in section(page, "account-locks")
    assert 'action="/agent/locks/lift"' in page

    reply = desk.post("/agent/locks/lift", subject="account:70000001", back=looked_up)
    assert (reply.status_code, reply.location) == (302, looked_up)
    page = client.get(looked_up).get_data(as_text=True)
    assert "Lock on account:70000001 lifted" in page
    assert "None: the caller can verify by phone and text." in section(page, "account-locks")
    assert audited(db, "lockout.reset") == [("agent:alice", "success", "account:70000001")]
    assert audited(db, "agent.lock.lift") == [("agent:alice", "success", "lock:account:70000001")]
    first = caller.hang_up()
    assert "locked until our billing team unlocks it" in " ".join(first.said)

    record = simulator.call(keys_from(VERIFY), caller=ADA_PHONE)
    db.rollback()
    assert db.get(Conversation, record.call_sid).verified


def test_the_lock_on_the_callers_phone_is_lifted_from_their_call(
    app, client, db, desk, ada, simulator
):
    lock(db, f"caller:{ADA_PHONE}", utcnow() + dt.timedelta(minutes=25))
    caller = WaitingCaller(app, [], keys=keys_from(LOCKED_OUT), caller=ADA_PHONE)
    call = take_call(desk, db)
    back = f"/agent/calls/{call.id}"
    page = client.get(back).get_data(as_text=True)
    assert f'action="/agent/calls/{call.id}/locks/lift"' in page

    reply = desk.post(f"{back}/locks/lift", subject=f"caller:{ADA_PHONE}", back=back)
    assert (reply.status_code, reply.location) == (302, back)
    assert 'id="caller-locks"' not in client.get(back).get_data(as_text=True)
    assert audited(db, "lockout.reset") == [("agent:alice", "success", f"caller:{ADA_PHONE}")]
    caller.hang_up()
    record = simulator.call(keys_from(VERIFY), caller=ADA_PHONE)
    db.rollback()
    assert db.get(Conversation, record.call_sid).verified


def test_an_agent_lifts_only_the_locks_the_console_shows_them(app, client, db, desk, ada):
    for subject in ("caller:+12025550123", "caller:anonymous", f"caller:{ADA_PHONE}"):
        lock(db, subject)
    caller = WaitingCaller(app, [], keys=keys_from(LOCKED_OUT), caller=ADA_PHONE)
    call = take_call(desk, db)
    back = f"/agent/calls/{call.id}"

    other_phone = desk.post(f"{back}/locks/lift", subject="caller:+12025550123", back=back)
    assert other_phone.status_code == 403
    without_the_call = desk.post("/agent/locks/lift", subject=f"caller:{ADA_PHONE}", back=back)
    assert without_the_call.status_code == 403
    pool = desk.post(f"{back}/locks/lift", subject="caller:anonymous", back=back)
    assert pool.status_code == 302
    assert "only an operator lifts it" in client.get(back).get_data(as_text=True)
    for subject in ("account:99999999", "not a subject"):
        desk.post("/agent/locks/lift", subject=subject, back=back)
    forged = client.post(f"{back}/locks/lift", data={"subject": f"caller:{ADA_PHONE}"})
    assert forged.status_code == 403

    db.rollback()
    locked = select(LockoutCounter.subject).where(LockoutCounter.locked_until.is_not(None))
    assert set(db.scalars(locked)) == {
        "caller:+12025550123", "caller:anonymous", f"caller:{ADA_PHONE}",
    }  # fmt: skip
    outcomes = [outcome for _, outcome, _ in audited(db, "agent.lock.lift")]
    assert outcomes == ["forbidden", "forbidden", "refused", "refused", "refused"]
    assert audited(db, "lockout.reset") == []
    caller.hang_up()


def test_the_agent_records_a_dispute_held_out_of_what_is_due(app, client, db, desk, ada):
    caller = WaitingCaller(app, [])
    call = take_call(desk, db)
    back = f"/agent/calls/{call.id}"
    forged = client.post(f"{back}/disputes", data={"amount": "50"})  # no CSRF token
    assert forged.status_code == 403

    reply = desk.post(f"{back}/disputes", amount="50")
    assert (reply.status_code, reply.location) == (302, back)
    db.rollback()
    [made] = db.scalars(select(Dispute)).all()
    assert (made.amount_cents, made.scope, made.status) == (5000, "amount", DisputeStatus.OPEN)
    assert (made.channel, made.session_sid) == ("console", call.call_sid)
    page = client.get(back).get_data(as_text=True)
    assert f"Dispute {made.reference_number} recorded: $50.00 is held out" in page
    assert f"{made.reference_number} " in section(page, "disputes")
    assert 'value="92.50"' in page  # what is left to dispute
    assert audited(db, "dispute.opened") == [("agent:alice", "open", f"dispute:{made.id}")]
    assert audited(db, "agent.dispute") == [("agent:alice", "success", f"agent_call:{call.id}")]
    sms, email = db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert (sms.recipient, email.recipient) == (ADA_PHONE, "ada@example.com")
    assert "$50.00 is held out of the amount due" in sms.body
    written = f"{made.reference_number[:3]}-{made.reference_number[3:6]}-"
    assert written in sms.body

    desk.post(f"{back}/disputes", amount="fifty")
    assert "Enter the amount in dollars, like 142.50." in client.get(back).get_data(as_text=True)
    too_much = desk.post(f"{back}/disputes", amount="92.51")
    assert too_much.status_code == 302
    assert "Up to $92.50 can be disputed" in client.get(back).get_data(as_text=True)
    desk.post(f"{back}/disputes", amount="92.50")
    db.rollback()
    scopes = [(d.amount_cents, d.scope) for d in db.scalars(select(Dispute).order_by(Dispute.id))]
    assert scopes == [(5000, "amount"), (9250, "balance")]
    assert "Nothing more can be disputed" in client.get(back).get_data(as_text=True)
    assert amounts_due(db, ada, 0).full_cents == 0  # all of it is held
    caller.hang_up()
    assert leaks(database_dump(db)) == []


def test_an_unverified_caller_gets_no_dispute_form_and_none_is_recorded(app, client, db, desk, ada):
    lock(db, "account:70000001")
    caller = WaitingCaller(app, [], keys=keys_from(LOCKED_OUT), caller=ADA_PHONE)
    call = take_call(desk, db)
    assert 'id="record-dispute"' not in client.get(f"/agent/calls/{call.id}").get_data(as_text=True)
    desk.post(f"/agent/calls/{call.id}/disputes", amount="50")
    db.rollback()
    assert db.scalars(select(Dispute)).all() == []
    assert [outcome for _, outcome, _ in audited(db, "agent.dispute")] == ["refused"]
    caller.hang_up()
