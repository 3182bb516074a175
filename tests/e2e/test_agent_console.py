"""Agent-assisted payment end to end: a simulated caller waits in the agents' queue, the agent
takes the call in the console (Flask test client) and starts secure capture, the caller keys the
card, the console follows it, and the caller goes back to the agent with the result. Also the
refusals: other agents, bad amounts, hang-ups, cancels and replays, with no card data anywhere.
"""

from __future__ import annotations

import queue

import pytest
from sqlalchemy import select

from ivr.models import (
    AgentCall,
    AgentCallStatus,
    AgentCapture,
    AuditEvent,
    CaptureStatus,
    Conversation,
    Payment,
    PaymentStatus,
)
from ivr.simulator.emulator import keys_from
from tests.support.agent_desk import (
    Desk,
    Pause,
    WaitingCaller,
    capture_row,
    final,
    make_agent,
    take_call,
    wait_for,
)
from tests.support.card_scan import captures_left, database_dump, leaks
from tests.support.keys import VERIFY, VISA, card
from tests.support.webhooks import call_form, post, row_counts

DECLINED = "4000000000000002"


BRIDGE_EVENTS = {
    "telephony.participant_held": "held",
    "telephony.participant_unheld": "unheld",
}


def bridge_moves(caplog) -> list[str]:
    """What the app asked of the telephony adapter, in order: the agent's leg moved into the
    conference, holds, the caller's leg moved, unholds (from the adapter's log lines)."""
    moves = []
    for line in caplog.messages:
        event = line.split()[0].removeprefix("event=")
        if event in BRIDGE_EVENTS:
            moves.append(BRIDGE_EVENTS[event])
        elif event == "telephony.call_redirected":
            moves.append("caller_moved" if moves else "agent_moved")
    return moves


def actions(db) -> list[tuple[str, str]]:
    db.rollback()
    rows = db.scalars(select(AuditEvent).where(AuditEvent.action.like("agent.%")))
    return [(event.action, event.outcome) for event in rows]


def test_the_agent_takes_a_payment_the_caller_keys_and_gets_the_caller_back(
    app, client, db, desk, ada, caplog
):
    caplog.set_level("DEBUG")
    caller = WaitingCaller(app, [*card(), "1"])
    call = take_call(desk, db)
    page = client.get(f"/agent/calls/{call.id}").get_data(as_text=True)
    assert "Verified by the IVR" in page and "$142.50" in page

    reply = desk.post(f"/agent/calls/{call.id}/payment", amount="142.50")
    assert reply.status_code == 302
    capture = final(db)
    record = caller.hang_up()

    assert capture.status is CaptureStatus.APPROVED
    assert (capture.brand, capture.last4) == ("visa", "4242")
    assert {field["status"] for field in capture.fields.values()} == {"done"}
    payment = db.get(Payment, capture.payment_id)
    assert payment.status is PaymentStatus.APPROVED
    assert payment.confirmation_number == capture.confirmation_number
    assert payment.idempotency_key == f"{record.call_sid}:agent-{capture.id}"
    spoken = " ".join(capture.confirmation_number[:3])
    assert any(spoken in line for line in record.said)
    assert record.said.index("Please hold while I return you to your representative.") > 0
    room = f"conference:pay-{record.call_sid}"
    assert record.transfers == ["queue:agents", room, room]
    assert bridge_moves(caplog) == ["agent_moved", "held", "caller_moved", "unheld"]
    assert "Your representative has asked me to take your payment of 142 dollars and 50 cents. " \
        "They cannot hear the keys you press." in record.said  # fmt: skip

    stream = client.get(f"/agent/payments/{capture.id}/events").get_data(as_text=True)
    assert '"status": "approved"' in stream and capture.confirmation_number in stream
    assert ("agent.capture.start", "success") in actions(db)
    assert ("agent.capture.result", "approved") in actions(db)
    assert captures_left(db) == 0
    page = client.get(f"/agent/calls/{call.id}").get_data(as_text=True)
    everything = "\n".join([database_dump(db), stream, page, caplog.text, *record.responses])
    assert leaks(everything) == []
    assert "event=call.turn" in caplog.text  # the DEBUG-level log was captured and scanned


def test_a_decline_is_shown_and_the_agent_can_try_again(app, client, db, desk, ada, caplog):
    caller = WaitingCaller(app, [*card(DECLINED), "1", *card(), "1"])
    call = take_call(desk, db)
    desk.post(f"/agent/calls/{call.id}/payment", amount="142.50")
    declined = final(db)
    assert declined.status is CaptureStatus.DECLINED
    assert declined.reason == "declined_declined"
    page = client.get(f"/agent/calls/{call.id}").get_data(as_text=True)
    assert "Sorry, your card was declined and nothing was charged." in page
    assert "Try again" in page

    desk.post(f"/agent/calls/{call.id}/payment", amount="142.50")
    approved = final(db, declined.id + 1)
    record = caller.hang_up()
    assert approved.status is CaptureStatus.APPROVED
    keys = {p.idempotency_key for p in db.scalars(select(Payment))}
    assert len(keys) == 2
    assert "Sorry, your card was declined and nothing was charged." in record.said
    once = ["held", "caller_moved", "unheld"]
    assert bridge_moves(caplog) == ["agent_moved", *once, *once]


def test_a_field_asked_again_returns_the_caller_to_where_they_were(app, client, db, desk, ada):
    asked_again: list[int] = []

    def keys(prompt: str) -> str | None:
        script = [*VERIFY, "0", *card(expiry="1230")]
        if len(calls) < len(script):
            calls.append(prompt)
            return script[len(calls) - 1]
        if "To pay, press 1" in prompt and not asked_again:
            asked_again.append(True)
            pause.hold_caller()
            return "9"  # never heard: the redirect takes the call first
        if "expiration date" in prompt:
            return "1231"
        if "To pay, press 1" in prompt:
            return "1"
        return None

    def ask_again() -> None:
        reply = desk.post(f"/agent/payments/{capture_row(db).id}/rerequest", field="card_expiry")
        assert reply.status_code == 302

    calls: list[str] = []
    pause = Pause()
    caller = WaitingCaller(app, [], keys=keys)
    call = take_call(desk, db)
    desk.post(f"/agent/calls/{call.id}/payment", amount="20")
    pause.agent_acts(ask_again)
    capture = final(db)
    caller.hang_up()

    assert capture.status is CaptureStatus.APPROVED
    payment = db.get(Payment, capture.payment_id)
    assert (payment.amount_cents, payment.exp_month, payment.exp_year) == (2000, 12, 2031)
    assert ("agent.capture.rerequest", "success") in actions(db)


def test_the_agent_cancels_and_the_caller_is_told_nothing_was_charged(app, db, desk, ada, caplog):
    def keys(prompt: str) -> str | None:
        if "expiration date" in prompt:
            pause.hold_caller()
            return "1230"
        return script.pop(0) if script else None

    def cancel() -> None:
        assert desk.post(f"/agent/payments/{capture_row(db).id}/cancel").status_code == 302

    script = [*VERIFY, "0", f"{VISA}#"]
    pause = Pause()
    caller = WaitingCaller(app, [], keys=keys)
    call = take_call(desk, db)
    desk.post(f"/agent/calls/{call.id}/payment", amount="142.50")
    pause.agent_acts(cancel)
    capture = final(db)
    record = caller.hang_up()

    assert capture.status is CaptureStatus.CANCELLED
    assert "Your representative has stopped this payment. Nothing was charged." in record.said
    assert db.scalars(select(Payment)).all() == []
    assert captures_left(db) == 0
    assert ("agent.capture.cancel", "success") in actions(db)
    moves = ["agent_moved", "held", "caller_moved", "caller_moved", "unheld"]
    assert bridge_moves(caplog) == moves
    assert record.transfers[-1] == f"conference:pay-{record.call_sid}"


def test_a_caller_hanging_up_mid_capture_charges_nothing_and_the_console_says_so(
    app, client, db, desk, ada, caplog
):
    caller = WaitingCaller(app, [f"{VISA}#", "1230"])  # then hangs up at the security code
    call = take_call(desk, db)
    desk.post(f"/agent/calls/{call.id}/payment", amount="142.50")
    capture = final(db)
    caller.finish()

    assert capture.status is CaptureStatus.HUNG_UP
    assert capture.fields["card_expiry"]["status"] == "valid"
    assert db.scalars(select(Payment)).all() == []
    assert captures_left(db) == 0
    page = client.get(f"/agent/calls/{call.id}").get_data(as_text=True)
    assert "The caller hung up before paying. Nothing was charged." in page
    assert db.get(AgentCall, call.id).status is AgentCallStatus.ENDED
    assert ("agent.capture.result", "hung_up") in actions(db)
    # The agent is not left in music: taken off hold once the caller is gone.
    assert bridge_moves(caplog) == ["agent_moved", "held", "caller_moved", "unheld"]
    assert not db.get(AgentCall, call.id).agent_held
    assert ("agent.hold", "success") in actions(db) and ("agent.unhold", "success") in actions(db)


def test_another_agents_call_is_refused_and_the_refusal_audited(app, client, db, desk, ada):
    caller = WaitingCaller(app, [])
    call = take_call(desk, db)
    make_agent(db, "bob")
    bob = Desk(app.test_client())
    bob.login("bob")
    assert bob.client.get(f"/agent/calls/{call.id}").status_code == 403
    assert bob.post(f"/agent/calls/{call.id}/claim").status_code == 403
    assert bob.post(f"/agent/calls/{call.id}/payment", amount="10").status_code == 403
    assert f"/agent/calls/{call.id}" not in bob.client.get("/agent/").get_data(as_text=True)
    desk.post(f"/agent/calls/{call.id}/payment", amount="10")
    capture = capture_row(db)
    assert bob.client.get(f"/agent/payments/{capture.id}/events").status_code == 403
    assert bob.post(f"/agent/payments/{capture.id}/cancel").status_code == 403
    desk.post(f"/agent/payments/{capture.id}/cancel")
    caller.hang_up()
    forbidden = [a for a in actions(db) if a[1] == "forbidden"]
    assert len(forbidden) >= 3


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("500.00", "That is more than can be paid now: $142.50."),
        ("0.50", "The smallest payment by phone is $1.00."),
        ("lots", "Enter the amount in dollars, like 142.50."),
    ],
)
def test_amounts_follow_the_payment_policy(app, client, db, desk, ada, amount, message):
    caller = WaitingCaller(app, [])
    call = take_call(desk, db)
    reply = desk.post(f"/agent/calls/{call.id}/payment", amount=amount)
    assert reply.status_code == 302
    page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert message in page
    assert capture_row(db) is None
    assert ("agent.capture.start", "refused") in actions(db)
    caller.hang_up()


def test_an_unverified_caller_cannot_be_charged(app, client, db, desk, ada, settings):
    wrong = ["0000#", "00000"] * settings.MAX_ACCOUNT_FAILURES
    caller = WaitingCaller(app, [], keys=keys_from(["", "1", *wrong, "0", "1"]))
    call = take_call(desk, db)
    assert not call.verified
    reply = desk.post(f"/agent/calls/{call.id}/payment", amount="10")
    page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "not verified" in page
    assert capture_row(db) is None
    caller.hang_up()


def test_the_capture_webhooks_need_twilios_signature(client, db, ada):
    before = row_counts(db)
    for path in ("/voice/hold", "/voice/agent-capture?capture=1&step=start&n=1"):
        reply = client.post(path, data=call_form(), headers={"X-Twilio-Signature": "forged"})
        assert reply.status_code == 403
    assert row_counts(db) == before


def test_a_stale_or_repeated_redirect_changes_nothing(app, client, db, desk, ada):
    caller = WaitingCaller(app, [*card(), "1"])
    call = take_call(desk, db)
    desk.post(f"/agent/calls/{call.id}/payment", amount="142.50")
    capture = final(db)
    record = caller.hang_up()
    form = call_form(sid=record.call_sid)
    # After the call ended: a polite goodbye, nothing else.
    reply = post(client, f"/voice/agent-capture?capture={capture.id}&step=start&n=1", form)
    assert "timed out" in reply.get_data(as_text=True)
    assert db.scalars(select(AgentCapture)).all()[-1].status is CaptureStatus.APPROVED


def test_look_up_shows_balance_and_masked_payments_and_is_audited(client, db, desk, ada):
    db.add(
        Payment(
            account_id=ada.id,
            amount_cents=5000,
            idempotency_key="earlier",
            channel="voice",
            gateway="sandbox",
            status=PaymentStatus.APPROVED,
            brand="visa",
            last4="4242",
            confirmation_number="4829130057",
        )
    )
    db.commit()
    page = client.get("/agent/accounts?number=70000001").get_data(as_text=True)
    assert '<dd id="balance">$142.50</dd>' in page
    assert "Visa ending 4242" in page and "4829130057" in page and "$50.00" in page
    missing = client.get("/agent/accounts?number=79999999", follow_redirects=True)
    assert "No account 79999999; check the number." in missing.get_data(as_text=True)
    db.rollback()
    looked = db.scalars(select(AuditEvent).where(AuditEvent.action == "agent.lookup")).all()
    assert [(e.outcome, e.detail.get("account")) for e in looked] == [
        ("success", "70000001"),
        ("refused", None),
    ]


def test_capture_audit_entries_name_the_agent_call_and_account(app, db, desk, ada):
    caller = WaitingCaller(app, [*card(), "1"])
    call = take_call(desk, db)
    desk.post(f"/agent/calls/{call.id}/payment", amount="142.50")
    final(db)
    record = caller.hang_up()
    db.rollback()
    [start] = db.scalars(select(AuditEvent).where(AuditEvent.action == "agent.capture.start"))
    assert (start.actor, start.outcome, start.origin) == (
        "agent:alice",
        "success",
        f"call:{record.call_sid}",
    )
    assert start.detail["account"] == "70000001"


def test_a_caller_who_stops_answering_goes_back_to_the_agent_not_off_the_line(app, db, desk, ada):
    caller = WaitingCaller(app, ["", "", "1"])  # silence twice at the card number
    call = take_call(desk, db)
    desk.post(f"/agent/calls/{call.id}/payment", amount="142.50")
    capture = final(db)
    record = caller.hang_up()

    assert capture.status is CaptureStatus.FAILED
    assert "Sorry, we could not take the payment just now, and nothing was charged." in record.said
    assert record.said[-1] == "Please hold while I return you to your representative."
    assert not any("Goodbye" in line for line in record.said)
    assert db.scalars(select(Payment)).all() == []
    assert captures_left(db) == 0


def test_a_repeated_redirect_is_answered_as_a_replay(app, client, db, desk, ada):
    gate: queue.Queue[str | None] = queue.Queue()
    script = [*VERIFY, "0"]
    caller = WaitingCaller(
        app, [], keys=lambda _prompt: script.pop(0) if script else gate.get(timeout=30)
    )
    call = take_call(desk, db)
    desk.post(f"/agent/calls/{call.id}/payment", amount="142.50")
    capture = wait_for(
        lambda: (row := capture_row(db)) and row.fields["card_number"]["status"] == "entering"
        and row.status is CaptureStatus.CAPTURING and row,
        "the caller to reach the card number",
    )  # fmt: skip
    db.rollback()
    conv = db.get(Conversation, call.call_sid)
    turn, response = conv.turn, conv.last_response
    url = f"/voice/agent-capture?capture={capture.id}&step=start&n=1"

    again = post(client, url, call_form(sid=call.call_sid))

    assert again.get_data(as_text=True) == response
    db.rollback()
    assert db.get(Conversation, call.call_sid).turn == turn
    gate.put(None)  # the caller hangs up
    caller.finish()


def test_the_queue_plays_a_word_and_hold_music(client, db, settings, ada):
    reply = post(client, "/voice/hold", call_form())
    body = reply.get_data(as_text=True)
    assert "Thank you for holding." in body
    assert f"<Play>{settings.HOLD_MUSIC_URL}</Play>" in body
