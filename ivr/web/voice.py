"""Voice webhooks: ``/voice/incoming`` (Voice URL), ``/voice/status`` (status callback),
``/voice/step`` (every Gather action, Redirect and ``<Pay>`` action), ``/voice/whisper``
(agent-side message) and ``/voice/pay-status`` (``<Pay>`` progress)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from sqlalchemy.exc import SQLAlchemyError

from ivr import logs
from ivr.channels.twiml import voice_message
from ivr.channels.voice import VoiceCalls, event_from
from ivr.models import utcnow
from ivr.web.services import agent_bridge, services
from ivr.web.signature import twilio_webhook
from ivr.web.webhooks import call_sid, twiml
from prompts import Prompt

bp = Blueprint("voice", __name__, url_prefix="/voice")
log = logging.getLogger("ivr.voice")


def _calls() -> VoiceCalls:
    return services().voice


def _turn_number() -> int | None:
    raw = request.args.get("turn", "")
    return int(raw) if raw.isdigit() and len(raw) < 9 else None


@bp.errorhandler(SQLAlchemyError)
def database_unavailable(error: SQLAlchemyError) -> Response:
    """The database failed mid-call: the transaction rolled back, so say so and hang up."""
    logs.event(log, "call.db_error", logging.ERROR, call=call_sid(), error=type(error).__name__)
    language = services().settings.DEFAULT_LANGUAGE
    return twiml(voice_message((Prompt("system_error"),), language))


@bp.post("/incoming")
@twilio_webhook
def incoming() -> Response:
    if not call_sid():
        return twiml(voice_message((Prompt("system_error"),), "en-US"))
    return twiml(_calls().answer(call_sid(), request.form.get("From"), utcnow()))


@bp.post("/step")
@twilio_webhook
def step() -> Response:
    event = event_from(request.args, request.form)
    return twiml(_calls().advance(call_sid(), _turn_number(), event, utcnow()))


@bp.post("/pay-status")
@twilio_webhook
def pay_status() -> Response:
    """``<Pay>`` progress: logged for operators (field and error type only, never values)."""
    logs.event(
        log,
        "pay.progress",
        call=call_sid(),
        capture=request.form.get("Capture", "-"),
        error=request.form.get("ErrorType", "-"),
    )
    return Response(status=204)


@bp.post("/whisper")
@twilio_webhook
def whisper() -> Response:
    """The representative answered a ``<Dial>`` transfer: their leg is this request's call."""
    caller = request.args.get("call", "")[:64]
    agent_bridge().connected(caller, call_sid())
    return twiml(_calls().whisper(caller))


@bp.post("/status")
@twilio_webhook
def status() -> Response:
    _calls().status(call_sid(), request.form.get("CallStatus", ""), utcnow())
    return Response(status=204)
