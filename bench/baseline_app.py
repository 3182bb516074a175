"""The baseline: the least a Twilio webhook can do. It checks the signature the same way the
app does and answers every POST with one fixed ``<Gather>``, so the throughput ratio shows what
the IVR's own work (database, state machine, prompts) costs on top of Flask and gunicorn."""

from __future__ import annotations

import os

from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator

from ivr.config import DEV_AUTH_TOKEN

GATHER = (
    '<?xml version="1.0" encoding="UTF-8"?><Response>'
    '<Gather action="/voice/step" finishOnKey="#" input="dtmf" method="POST" timeout="5">'
    "<Say>Please enter your account number, followed by the pound key.</Say></Gather>"
    '<Redirect method="POST">/voice/step?silence=1</Redirect></Response>'
)


def create_app() -> Flask:
    validator = RequestValidator(os.environ.get("TWILIO_AUTH_TOKEN") or DEV_AUTH_TOKEN)
    public_base = os.environ["PUBLIC_BASE_URL"].rstrip("/")
    app = Flask("baseline")

    @app.post("/voice/<path:_hook>")
    def webhook(_hook: str) -> Response:
        query = request.query_string.decode()
        url = f"{public_base}{request.path}" + (f"?{query}" if query else "")
        if not validator.validate(url, request.form, request.headers.get("X-Twilio-Signature")):
            abort(403)
        return Response(GATHER, mimetype="text/xml")

    return app
