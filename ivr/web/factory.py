"""``create_app``: logging and blueprints on the process's services, wired once per process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import Flask, abort, request

from ivr import logs
from ivr.channels.services import Services, checked_settings
from ivr.web import agent, agent_voice, metrics, paypage, sms, voice


def create_app(
    config: Mapping[str, Any] | None = None, *, services: Services | None = None
) -> Flask:
    """Build the app from the environment; ``config`` overrides settings (tests, CLI).

    Given ``services`` instead (tests, the CLI, the benchmark), the app runs on them, and
    whoever built them closes them; otherwise it builds its own, for the process's lifetime.
    """
    if services is None:
        services = Services.build(checked_settings(overrides=config))
    elif config is not None:
        raise TypeError("create_app takes config or services, not both")
    settings = services.settings
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
    app.extensions["ivr"] = services
    app.register_blueprint(voice.bp)
    app.register_blueprint(sms.bp)
    app.register_blueprint(paypage.bp)
    app.register_blueprint(agent_voice.bp)
    app.register_blueprint(agent.bp)
    metrics.init_app(app, settings, services.factory)
    app.before_request(_refuse_oversized)
    return app


def _refuse_oversized() -> None:
    """413 for a declared body over ``MAX_CONTENT_LENGTH``, before any view runs. Flask alone
    refuses it only when something reads it; a chunked body without a length is cut off at
    the limit as it is read."""
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        abort(413)
