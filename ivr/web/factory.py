"""``create_app``: settings, logging, database and blueprints wired once per process."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from ivr import logs
from ivr.config import load_settings
from ivr.db import make_engine, make_session_factory
from ivr.voice_calls import VoiceCalls
from ivr.web import voice
from ivr.web.services import Services


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment; ``config`` overrides settings (tests, CLI)."""
    settings = load_settings(overrides=config)
    logs.configure(settings.LOG_LEVEL)
    app = Flask("ivr")
    app.config.update(SECRET_KEY=settings.SECRET_KEY)
    factory = make_session_factory(make_engine(settings.DATABASE_URL))
    app.extensions["ivr"] = Services(settings, factory, VoiceCalls(factory, settings))
    app.register_blueprint(voice.bp)
    return app
