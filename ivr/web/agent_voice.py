"""Voice webhooks of agent-assisted payment: ``/voice/hold`` (the agents' queue wait music)
and ``/voice/agent-capture`` (where the console's REST redirect sends the caller's leg)."""

from __future__ import annotations

import functools

from flask import Blueprint, Response, request

from flows import agent as desk
from ivr.db import transaction
from ivr.models import utcnow
from ivr.twiml import hold as hold_twiml
from ivr.web.services import services
from ivr.web.signature import twilio_webhook
from prompts import Prompt

bp = Blueprint("agent_voice", __name__, url_prefix="/voice")


def _twiml(xml: str) -> Response:
    return Response(xml, mimetype="application/xml")


def _call_sid() -> str:
    return request.form.get("CallSid", "").strip()[:64]


@bp.post("/hold")
@twilio_webhook
def hold() -> Response:
    settings = services().settings
    with transaction(services().factory) as db:
        language = desk.caller_language(db, _call_sid(), settings.DEFAULT_LANGUAGE)
    return _twiml(hold_twiml((Prompt("hold_message"),), language, settings.HOLD_MUSIC_URL))


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
    return _twiml(services().voice.moved(_call_sid(), move, utcnow()))
