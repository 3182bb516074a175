"""The conference bridge's TwiML and webhooks (ivr/channels/bridge.py, ivr/channels/twiml.py):
each leg joins the
call's conference without beeps, only the agent leaving ends it, a held agent hears only music,
and a caller whose agent never took the call is not put in an empty room, and an agent who took
the call before their phone rang through is moved into the room when it does."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from ivr.adapters.telephony import LocalTelephony
from ivr.channels.bridge import AGENT_BRIDGE_URL, AgentBridge
from ivr.channels.twiml import bridge, hold_music
from ivr.db import transaction
from ivr.models import AgentCall, AgentCallStatus, AgentCapture, CaptureStatus
from tests.support.agent_desk import make_agent
from tests.support.factories import add_account
from tests.support.webhooks import call_form, post, row_counts


def room(xml: str) -> ET.Element:
    found = ET.fromstring(xml).find("Dial/Conference")  # noqa: S314
    assert found is not None
    return found


@pytest.mark.parametrize(("role", "ends"), [("caller", "false"), ("agent", "true")])
def test_each_leg_joins_the_calls_conference_quietly(role: str, ends: str) -> None:
    conference = room(bridge("pay-CA1", role))  # type: ignore[arg-type]
    assert conference.text == "pay-CA1"
    assert conference.attrib == {
        "participantLabel": role,
        "beep": "false",
        "startConferenceOnEnter": "true",
        "endConferenceOnExit": ends,
        "statusCallback": "/voice/bridge-status",
        "statusCallbackEvent": "join",
        "statusCallbackMethod": "POST",
    }


def test_no_conference_means_hanging_up() -> None:
    assert [verb.tag for verb in ET.fromstring(bridge(None, "caller"))] == ["Hangup"]  # noqa: S314


def test_a_held_agent_hears_music_only(settings) -> None:
    verbs = list(ET.fromstring(hold_music(settings.HOLD_MUSIC_URL)))  # noqa: S314
    assert [(v.tag, v.text, v.get("loop")) for v in verbs] == [
        ("Play", settings.HOLD_MUSIC_URL, "0")
    ]


def test_the_hold_music_webhook_plays_the_configured_music(client, db, settings) -> None:
    body = post(client, "/voice/agent-hold", call_form()).get_data(as_text=True)
    assert body == hold_music(settings.HOLD_MUSIC_URL)


def test_a_caller_whose_agent_never_took_the_call_is_not_put_in_a_room(client, db) -> None:
    body = post(client, "/voice/bridge", call_form()).get_data(as_text=True)
    assert "<Conference" not in body and "<Hangup" in body
    body = post(client, "/voice/agent-bridge", call_form()).get_data(as_text=True)
    assert "<Conference" not in body and "<Hangup" in body


@pytest.mark.parametrize(
    "path",
    [
        "/voice/agent-connect",
        "/voice/bridge",
        "/voice/agent-bridge",
        "/voice/bridge-status",
        "/voice/agent-hold",
    ],
)
def test_the_bridge_webhooks_need_twilios_signature(client, db, path: str) -> None:
    before = row_counts(db)
    reply = client.post(path, data=call_form(), headers={"X-Twilio-Signature": "forged"})
    assert reply.status_code == 403
    assert row_counts(db) == before


@pytest.mark.parametrize(("status", "moved"), [("claimed", True), ("waiting", False)])
def test_an_agent_who_took_the_call_first_is_moved_when_their_phone_rings_through(
    standalone_factory, settings, status: str, moved: bool
) -> None:
    telephony = LocalTelephony(factory=standalone_factory)
    with transaction(standalone_factory) as session:
        session.add(AgentCall(call_sid="CAcaller", status=AgentCallStatus(status)))
    AgentBridge(standalone_factory, settings, telephony).connected("CAcaller", "CAagent")
    expected = settings.PUBLIC_BASE_URL.rstrip("/") + AGENT_BRIDGE_URL if moved else None
    assert telephony.take_redirect("CAagent") == expected
    with transaction(standalone_factory) as session:
        handoff = session.scalars(select(AgentCall)).one()
        assert (handoff.agent_call_sid, handoff.bridged) == ("CAagent", moved)


@pytest.mark.parametrize(("capture", "released"), [("capturing", False), ("approved", True)])
def test_the_callers_join_ends_the_hold_only_once_their_capture_is_over(
    standalone_factory, settings, db, capture: str, released: bool
) -> None:
    """The caller's first join can reach us after the agent was held for a capture that has
    only just begun: that join must leave the agent on hold."""
    account, agent_id = add_account(db, settings), make_agent(db)
    telephony = LocalTelephony(factory=standalone_factory)
    with transaction(standalone_factory) as session:
        handoff = AgentCall(
            call_sid="CAcaller", status=AgentCallStatus.CLAIMED, agent_id=agent_id,
            agent_call_sid="CAagent", bridged=True, conference_sid="CF1", agent_held=True,
        )  # fmt: skip
        session.add(handoff)
        session.flush()
        session.add(
            AgentCapture(
                handoff_id=handoff.id, call_sid="CAcaller", agent_id=agent_id,
                account_id=account.id, amount_cents=100, mode="dtmf",
                status=CaptureStatus(capture),
            )
        )  # fmt: skip
    bridge_ = AgentBridge(standalone_factory, settings, telephony)
    bridge_.conference_event("participant-join", "CF1", "pay-CAcaller", "CAcaller")
    with transaction(standalone_factory) as session:
        assert session.scalars(select(AgentCall)).one().agent_held is not released
