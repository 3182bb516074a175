"""Voice webhooks of agent-assisted payment: ``/voice/hold`` (the agents' queue wait music),
``/voice/agent-connect`` (the ``url`` of the contact centre's ``<Dial><Queue>``), the
conference bridge (``/voice/bridge`` for the caller's leg, ``/voice/agent-bridge`` for the
agent's, ``/voice/bridge-status`` for Twilio's conference events, ``/voice/agent-hold`` for the
held agent's music), ``/voice/agent-capture`` (where the console's REST redirect sends the
caller's leg) and ``/voice/agent-pay-status`` (Twilio Payments' status callback in
``CAPTURE_MODE=twilio-pay``)."""

from __future__ import annotations

import functools

from flask import Blueprint, Response, request
from twilio.twiml.voice_response import VoiceResponse

from flows import agent as desk
from ivr.channels.agent_console import pay_status_from
from ivr.channels.twiml import hold as hold_twiml
from ivr.channels.twiml import hold_music
from ivr.db import transaction
from ivr.models import utcnow
from ivr.web.services import agent_bridge, services
from ivr.web.signature import twilio_webhook
from ivr.web.webhooks import call_sid, twiml
from prompts import Prompt

bp = Blueprint("agent_voice", __name__, url_prefix="/voice")


@bp.post("/hold")
@twilio_webhook
def hold() -> Response:
    settings = services().settings
    with transaction(services().factory) as db:
        language = desk.caller_language(db, call_sid(), settings.DEFAULT_LANGUAGE)
    return twiml(hold_twiml((Prompt("hold_message"),), language, settings.HOLD_MUSIC_URL))


@bp.post("/agent-connect")
@twilio_webhook
def agent_connect() -> Response:
    """An agent's ``<Dial><Queue>`` dequeued this caller; the agent's leg is the dequeuer.
    Twilio plays what we answer to the caller before connecting: nothing, here."""
    agent_bridge().connected(call_sid(), request.form.get("DequeingCallSid", "")[:64])
    return twiml(str(VoiceResponse().to_xml()))


@bp.post("/bridge")
@twilio_webhook
def caller_bridge() -> Response:
    """The action of the caller's ``<Enqueue>``/``<Dial>``: their first bridge ended."""
    return twiml(agent_bridge().caller_twiml(call_sid()))


@bp.post("/agent-bridge")
@twilio_webhook
def agent_leg_bridge() -> Response:
    return twiml(agent_bridge().agent_twiml(call_sid()))


@bp.post("/bridge-status")
@twilio_webhook
def bridge_status() -> Response:
    form = request.form
    agent_bridge().conference_event(
        form.get("StatusCallbackEvent", "")[:40],
        form.get("ConferenceSid", "")[:64],
        form.get("FriendlyName", "")[:128],
        call_sid(),
    )
    return Response(status=204)


@bp.post("/agent-hold")
@twilio_webhook
def agent_hold() -> Response:
    return twiml(hold_music(services().settings.HOLD_MUSIC_URL))


@bp.post("/agent-capture")
@twilio_webhook
def agent_capture() -> Response:
    raw_id = request.args.get("capture", "")
    move = functools.partial(
        desk.redirected,
        capture_id=int(raw_id) if raw_id.isdigit() and len(raw_id) < 12 else -1,
        step=request.args.get("step", "")[:20],
        nonce=request.args.get("n", "")[:12],
    )
    return twiml(services().voice.moved(call_sid(), move, utcnow()))


@bp.post("/agent-pay-status")
@twilio_webhook
def agent_pay_status() -> Response:
    """Progress of an agent's Twilio Payments session: field names, error types and the masked
    card only (Twilio keeps the digits); logged without values."""
    raw_id = request.args.get("capture", "")
    event = pay_status_from(request.form)
    if raw_id.isdigit() and len(raw_id) < 12:
        services().agent_console.pay_status(int(raw_id), event)
    return Response(status=204)
