"""Twilio request signatures: every webhook is checked before it can touch anything."""

from __future__ import annotations

import functools
import logging
import urllib.parse
from collections.abc import Callable, Mapping
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
    query = request.query_string.decode(errors="replace")  # Twilio's are ASCII; others fail
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def is_signed(
    auth_token: str, url: str, payload: Mapping[str, Any] | str, signature: str | None
) -> bool:
    """Whether Twilio signed this request: the URL it requested, and either the form parameters
    (every value of a repeated key counts) or, for a JSON body, the body itself, whose SHA-256
    rides in the URL as ``bodySHA256``. Ports are tried both ways, as Twilio's validator does."""
    if not signature:
        return False
    if isinstance(payload, str) and "bodySHA256" not in urllib.parse.parse_qs(
        urllib.parse.urlsplit(url).query
    ):
        return False  # a body Twilio signs always names its hash; the validator needs it
    return bool(RequestValidator(auth_token).validate(url, payload, signature))


def signature_valid() -> bool:
    """Check the request as Twilio signed it. The body is read only within
    ``MAX_CONTENT_LENGTH`` (Flask answers 413 to a larger one before reading it)."""
    signature = request.headers.get("X-Twilio-Signature")
    if not signature:
        return False  # refused without reading the body
    payload: Mapping[str, Any] | str = (
        request.get_data(as_text=True) if request.is_json else request.form
    )
    return is_signed(services().settings.TWILIO_AUTH_TOKEN, public_url(), payload, signature)


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
