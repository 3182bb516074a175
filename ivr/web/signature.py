"""Twilio request signatures: every webhook is checked before it can touch anything."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, request
from twilio.request_validator import RequestValidator

from ivr import logs
from ivr.web.services import services

log = logging.getLogger("ivr.web")
F = TypeVar("F", bound=Callable[..., Any])


def public_url() -> str:
    """The URL Twilio requested, as Twilio saw it: ``PUBLIC_BASE_URL`` plus path and query.

    Behind a TLS-terminating proxy the app sees ``http://internal:8000/...`` while Twilio
    signed ``https://pay.example.com/...``; the configured public base is the truth.
    """
    base = services().settings.PUBLIC_BASE_URL.rstrip("/")
    query = request.query_string.decode()
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def signature_valid() -> bool:
    settings = services().settings
    signature = request.headers.get("X-Twilio-Signature")
    if not signature:
        return False
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    return bool(validator.validate(public_url(), request.form, signature))


def twilio_webhook(view: F) -> F:
    """Refuse (403) any request not signed by Twilio, unless VERIFY_SIGNATURES is off."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if services().settings.VERIFY_SIGNATURES and not signature_valid():
            logs.event(
                log,
                "webhook.rejected",
                logging.WARNING,
                path=request.path,
                reason="bad signature" if "X-Twilio-Signature" in request.headers else "unsigned",
            )
            abort(403, "Invalid Twilio signature.")
        return view(*args, **kwargs)

    return checked  # type: ignore[return-value]
