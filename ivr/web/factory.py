"""``create_app``: settings, logging, database and blueprints wired once per process."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from ivr import logs
from ivr.config import Settings, load_settings
from ivr.db import make_engine, make_session_factory
from ivr.voice_calls import VoiceCalls


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment; ``config`` overrides settings (tests, CLI)."""
    settings = load_settings(overrides=config)
    logs.configure(settings.LOG_LEVEL)
    app = Flask("ivr")
    app.config.update(SECRET_KEY=settings.SECRET_KEY, IVR_SETTINGS=settings)
    engine = make_engine(settings.DATABASE_URL)
    factory = make_session_factory(engine)
    app.extensions["ivr"] = Services(settings, factory, VoiceCalls(factory, settings))

    from ivr.web import voice

    app.register_blueprint(voice.bp)
    return app


class Services:
    """The app's long-lived collaborators, reachable from views via :func:`services`."""

    def __init__(self, settings: Settings, factory: Any, voice: VoiceCalls) -> None:
        self.settings = settings
        self.factory = factory
        self.voice = voice
