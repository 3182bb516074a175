"""Posting webhooks the way Twilio does, signed or deliberately not."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from ivr.config import DEV_AUTH_TOKEN, Settings
from ivr.models import AuditEvent, Conversation, LockoutCounter
from ivr.simulator.emulator import Simulator, flask_transport
from tests.conftest import PUBLIC_BASE_URL


def sign(url: str, form: dict[str, str], token: str = DEV_AUTH_TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, form))


def post(
    client: FlaskClient,
    path: str,
    form: dict[str, str],
    *,
    signed_url: str | None = None,
    headers: dict[str, str] | None = None,
) -> TestResponse:
    """POST ``form`` to ``path`` signed for ``signed_url`` (default: the public URL of path)."""
    signature = sign(signed_url or PUBLIC_BASE_URL + path, form)
    return client.post(
        path, data=form, headers={"X-Twilio-Signature": signature, **(headers or {})}
    )


def call_form(
    sid: str = "CA" + "1" * 32, caller: str = "+15005550006", **extra: str
) -> dict[str, str]:
    return {
        "CallSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": caller,
        "To": "+15005550000",
        "CallStatus": "in-progress",
        **extra,
    }


def row_counts(db: Session) -> tuple[int, int, int]:
    """How many sessions, audit events and lockout counters exist: proof nothing was written."""
    db.rollback()
    return tuple(  # type: ignore[return-value]
        db.scalar(select(func.count()).select_from(model))
        for model in (Conversation, AuditEvent, LockoutCounter)
    )


def twice_simulator(app: Flask, settings: Settings) -> tuple[Simulator, list[str]]:
    """Twilio retries, and so may a proxy: every webhook is delivered twice, and the second
    delivery must be answered exactly like the first."""
    inner = flask_transport(app.test_client())
    mismatches: list[str] = []

    def twice(path: str, form: dict[str, str], signature: str) -> tuple[int, str]:
        first = inner(path, form, signature)
        second = inner(path, form, signature)
        if first != second:
            mismatches.append(path)
        return second

    simulator = Simulator.signing_as(settings, twice)
    return simulator, mismatches


def vanishing_simulator(app: Flask) -> Simulator:
    """A simulator whose calls vanish: the final status callback never reaches the app, as
    when Twilio gives up on it, so the app never learns that the call ended."""
    inner = flask_transport(app.test_client())

    def without_status(path: str, form: dict[str, str], signature: str) -> tuple[int, str]:
        return (204, "") if path == "/voice/status" else inner(path, form, signature)

    return Simulator.signing_as(app.extensions["ivr"].settings, without_status)
