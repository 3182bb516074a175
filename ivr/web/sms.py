"""The text-message webhook: ``/sms/incoming`` (the number's Messaging URL)."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from sqlalchemy.exc import SQLAlchemyError

from ivr import logs
from ivr.channels.text_replies import message_twiml, text_of
from ivr.models import utcnow
from ivr.web.services import services
from ivr.web.signature import twilio_webhook
from ivr.web.webhooks import twiml
from prompts import Prompt

bp = Blueprint("sms", __name__, url_prefix="/sms")
log = logging.getLogger("ivr.channels.text_replies")

MAX_BODY = 1600  # Twilio's own limit for one message


def _message_sid() -> str:
    return request.form.get("MessageSid", "").strip()[:64]


@bp.errorhandler(SQLAlchemyError)
def database_unavailable(error: SQLAlchemyError) -> Response:
    """The database failed: the transaction rolled back, so nothing happened; say so."""
    logs.event(
        log, "text.db_error", logging.ERROR, message=_message_sid(), error=type(error).__name__
    )
    language = services().settings.DEFAULT_LANGUAGE
    return twiml(message_twiml(text_of((Prompt("system_error"),), language)))


@bp.post("/incoming")
@twilio_webhook
def incoming() -> Response:
    if not _message_sid():
        return twiml(message_twiml(None))
    body = request.form.get("Body", "")[:MAX_BODY]
    reply = services().text.receive(_message_sid(), request.form.get("From"), body, utcnow())
    return twiml(reply)
