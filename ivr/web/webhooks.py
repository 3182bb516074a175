"""What the Twilio webhook views share: the request's call, and answering with TwiML."""

from __future__ import annotations

from flask import Response, request


def twiml(xml: str) -> Response:
    return Response(xml, mimetype="application/xml")


def call_sid() -> str:
    """The request's ``CallSid``, trimmed to the column's length."""
    return request.form.get("CallSid", "").strip()[:64]
