"""The one door settings come in by, for the web app, every CLI command and the worker.

:func:`ivr.config.load_settings` reads the environment and enforces the kernel's own rules
(types, secrets, production). :func:`checked_settings` adds what each adapter and policy needs
of the settings it is built from, so a bad setting stops start-up here, with one
:class:`~ivr.config.ConfigError` that says what to set, never later in a call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.agent import TRANSFERS
from ivr.adapters import telephony
from ivr.config import (
    DEV_ACCOUNT_SID,
    DEV_AUTH_TOKEN,
    ConfigError,
    Settings,
    choose,
    load_settings,
    unknown,
)
from payments import assistance, gateways
from payments.arrangements import ArrangementPolicy
from payments.capture import KeyRing
from payments.promises import PromisePolicy


def checked_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Settings from ``environ`` (default: the process environment) and ``overrides``, with
    every setting checked that an adapter or a policy will be built from."""
    settings = load_settings(environ, overrides)
    ArrangementPolicy.from_settings(settings)
    PromisePolicy.from_settings(settings)
    try:
        assistance.load(settings.ASSISTANCE_PROGRAMS_FILE)
    except assistance.ProgramsError as error:
        raise ConfigError(f"ASSISTANCE_PROGRAMS_FILE: {error}") from None
    if settings.AGENT_TRANSFER not in TRANSFERS:
        raise unknown("AGENT_TRANSFER", settings.AGENT_TRANSFER, TRANSFERS)
    try:
        KeyRing(settings.CAPTURE_KEY)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    choose(gateways.ADAPTERS, settings, "PAYMENT_GATEWAY")
    if settings.PAYMENT_GATEWAY == "stripe" and not settings.STRIPE_API_KEY:
        raise ConfigError("PAYMENT_GATEWAY=stripe needs STRIPE_API_KEY.")
    choose(telephony.ADAPTERS, settings, "TELEPHONY")
    if settings.TELEPHONY == "twilio" and (
        settings.TWILIO_ACCOUNT_SID == DEV_ACCOUNT_SID
        or settings.TWILIO_AUTH_TOKEN == DEV_AUTH_TOKEN
    ):
        raise ConfigError(
            "TELEPHONY=twilio needs your account's TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN "
            "(from the Twilio console); the development values only sign simulated calls."
        )
    return settings
