"""Voice webhooks: ``/voice/incoming`` (Voice URL), ``/voice/status`` (status callback),
``/voice/step`` (every Gather action, Redirect and ``<Pay>`` action), ``/voice/whisper``
(agent-side message) and ``/voice/pay-status`` (``<Pay>`` progress)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from sqlalchemy.exc import SQLAlchemyError

from ivr import logs
from ivr.models import utcnow
from ivr.twiml import voice_message
from ivr.voice_calls import VoiceCalls, event_from
from ivr.web.services import agent_bridge, services
from ivr.web.signature import twilio_webhook
from prompts import Prompt

bp = Blueprint("voice", __name__, url_prefix="/voice")
log = logging.getLogger("ivr.voice")


def _calls() -> VoiceCalls:
    return services().voice


def _twiml(xml: str) -> Response:
    return Response(xml, mimetype="application/xml")


def _call_sid() -> str:
    return request.form.get("CallSid", "").strip()[:64]


def _turn_number() -> int | None:
    raw = request.args.get("turn", "")
    return int(raw) if raw.isdigit() and len(raw) < 9 else None


@bp.errorhandler(SQLAlchemyError)
def database_unavailable(error: SQLAlchemyError) -> Response:
    """The database failed mid-call: the transaction rolled back, so say so and hang up."""
    logs.event(log, "call.db_error", logging.ERROR, call=_call_sid(), error=type(error).__name__)
    language = services().settings.DEFAULT_LANGUAGE
    return _twiml(voice_message((Prompt("system_error"),), language))


@bp.post("/incoming")
@twilio_webhook
def incoming() -> Response:
    if not _call_sid():
        return _twiml(voice_message((Prompt("system_error"),), "en-US"))
    return _twiml(_calls().answer(_call_sid(), request.form.get("From"), utcnow()))


@bp.post("/step")
@twilio_webhook
def step() -> Response:
    event = event_from(request.args, request.form)
    return _twiml(_calls().advance(_call_sid(), _turn_number(), event, utcnow()))


@bp.post("/pay-status")
@twilio_webhook
def pay_status() -> Response:
    """``<Pay>`` progress: logged for operators (field and error type only, never values)."""
    logs.event(
        log,
        "pay.progress",
        call=_call_sid(),
        capture=request.form.get("Capture", "-"),
        error=request.form.get("ErrorType", "-"),
    )
    return Response(status=204)


@bp.post("/whisper")
@twilio_webhook
def whisper() -> Response:
    """The representative answered a ``<Dial>`` transfer: their leg is this request's call."""
    caller = request.args.get("call", "")[:64]
    agent_bridge().connected(caller, _call_sid())
    return _twiml(_calls().whisper(caller))


@bp.post("/status")
@twilio_webhook
def status() -> Response:
    if _calls().status(_call_sid(), request.form.get("CallStatus", ""), utcnow()):
        agent_bridge().unhold(_call_sid())  # the caller hung up while their agent was held
    return Response(status=204)
