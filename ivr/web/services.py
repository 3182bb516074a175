"""The current app's :class:`~ivr.channels.services.Services`, as its views reach them."""

from __future__ import annotations

from flask import current_app

from ivr.channels.bridge import AgentBridge
from ivr.channels.services import Services


def services() -> Services:
    """The current app's services."""
    return current_app.extensions["ivr"]  # type: ignore[no-any-return]


def agent_bridge() -> AgentBridge:
    """The current app's conference bridge between callers and agents."""
    return services().bridge
