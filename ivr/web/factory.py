"""``create_app``: settings, logging, database, adapters and blueprints, wired once per process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import Flask, abort, request

from ivr import logs
from ivr.adapters.telephony import Telephony, telephony_from_settings
from ivr.adapters.wiring import build_payments
from ivr.channels.agent_console import AgentConsole
from ivr.channels.bridge import AgentBridge
from ivr.channels.pay_page import PayPage
from ivr.channels.services import checked_settings
from ivr.channels.text import TextSessions
from ivr.channels.voice import VoiceCalls
from ivr.db import make_engine, make_session_factory
from ivr.web import agent, agent_voice, metrics, paypage, sms, voice
from ivr.web.services import Services
from payments.gateways import PaymentGateway


def create_app(
    config: Mapping[str, Any] | None = None,
    *,
    gateway: PaymentGateway | None = None,
    telephony: Telephony | None = None,
) -> Flask:
    """Build the app from the environment; ``config`` overrides settings (tests, CLI).

    ``gateway`` and ``telephony`` replace the configured adapters: tests pass fakes that stand
    where the network would be, never inside our own logic.
    """
    settings = checked_settings(overrides=config)
    logs.configure(settings.LOG_LEVEL)
    app = Flask("ivr")
    app.config.update(
        SECRET_KEY=settings.SECRET_KEY,
        SESSION_COOKIE_SECURE=settings.SESSION_COOKIE_SECURE or settings.production,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(minutes=settings.AGENT_SESSION_MINUTES),
        MAX_CONTENT_LENGTH=settings.MAX_CONTENT_LENGTH,  # 413 before a larger body is read
    )
    factory = make_session_factory(make_engine(settings.DATABASE_URL))
    payments = build_payments(settings, factory, gateway)
    phone = telephony or telephony_from_settings(settings, factory)
    bridge = AgentBridge(factory, settings, phone)
    calls = VoiceCalls(factory, settings, payments, phone, release_agent=bridge.unhold)
    texts = TextSessions(factory, settings, payments)
    page = PayPage(factory, settings, payments)
    app.extensions["ivr"] = Services(settings, factory, payments, phone, calls, texts, page)
    app.extensions["ivr_bridge"] = bridge
    app.extensions["ivr_agent"] = AgentConsole(
        factory, settings, phone, bridge, payments.on_approved
    )
    app.register_blueprint(voice.bp)
    app.register_blueprint(sms.bp)
    app.register_blueprint(paypage.bp)
    app.register_blueprint(agent_voice.bp)
    app.register_blueprint(agent.bp)
    metrics.init_app(app, settings, factory)
    app.before_request(_refuse_oversized)
    return app


def _refuse_oversized() -> None:
    """413 for a declared body over ``MAX_CONTENT_LENGTH``, before any view runs. Flask alone
    refuses it only when something reads it; a chunked body without a length is cut off at
    the limit as it is read."""
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        abort(413)
