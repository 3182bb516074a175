"""The app's long-lived collaborators, built once by ``create_app`` and shared by views."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy.orm import Session, sessionmaker

from ivr.adapters.telephony import Telephony
from ivr.channels.bridge import AgentBridge
from ivr.channels.pay_page import PayPage
from ivr.channels.text import TextSessions
from ivr.channels.voice import VoiceCalls
from ivr.config import Settings
from payments.service import PaymentService


@dataclass(frozen=True)
class Services:
    settings: Settings
    factory: sessionmaker[Session]
    payments: PaymentService
    telephony: Telephony
    voice: VoiceCalls
    text: TextSessions
    pay_page: PayPage


def services() -> Services:
    """The current app's services."""
    return current_app.extensions["ivr"]  # type: ignore[no-any-return]


def agent_bridge() -> AgentBridge:
    """The current app's conference bridge between callers and agents."""
    return current_app.extensions["ivr_bridge"]  # type: ignore[no-any-return]
