"""The process's long-lived parts, built once from settings checked once.

The web app (``create_app``), every ``ivr`` command and the worker, the benchmark and the tests
all start the same way: :func:`checked_settings`, then :meth:`Services.build`, and
:meth:`Services.close` when done. Nothing here knows of Flask; ``ivr.web.services`` hands the
app's :class:`Services` to its views.

:func:`ivr.config.load_settings` reads the environment and enforces the kernel's own rules
(types, secrets, production). :func:`checked_settings` adds what each adapter and policy needs
of the settings it is built from, so a bad setting stops start-up there, with one
:class:`~ivr.config.ConfigError` that says what to set, never later in a call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from flows.agent import TRANSFERS
from ivr.adapters.delivery import Senders
from ivr.adapters.telephony import ADAPTERS as TELEPHONES
from ivr.adapters.telephony import Telephony, telephony_from_settings
from ivr.channels.agent_console import AgentConsole
from ivr.channels.bridge import AgentBridge
from ivr.channels.email_receipts import email_receipts
from ivr.channels.pay_page import PayPage
from ivr.channels.reconnection_notices import reconnection_notices
from ivr.channels.text import TextSessions
from ivr.channels.voice import VoiceCalls
from ivr.config import (
    DEV_ACCOUNT_SID,
    DEV_AUTH_TOKEN,
    ConfigError,
    Settings,
    choose,
    load_settings,
    unknown,
)
from ivr.db import make_engine, make_session_factory
from ivr.models import Account, Payment
from payments import assistance, ledger
from payments.arrangements import ArrangementPolicy
from payments.capture import KeyRing
from payments.gateways import ADAPTERS as GATEWAYS
from payments.gateways import PaymentGateway, gateway_from_settings
from payments.promises import PromisePolicy
from payments.rails import ADAPTERS as RAILS
from payments.rails import rail_from_settings
from payments.reconnection import ReconnectionPolicy, requests
from payments.service import PaymentService


def checked_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Settings from ``environ`` (default: the process environment) and ``overrides``, with
    every setting checked that an adapter or a policy will be built from."""
    settings = load_settings(environ, overrides)
    ArrangementPolicy.from_settings(settings)
    PromisePolicy.from_settings(settings)
    ReconnectionPolicy.from_settings(settings)
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
    choose(GATEWAYS, settings, "PAYMENT_GATEWAY")
    if settings.PAYMENT_GATEWAY == "stripe" and not settings.STRIPE_API_KEY:
        raise ConfigError("PAYMENT_GATEWAY=stripe needs STRIPE_API_KEY.")
    choose(RAILS, settings, "BANK_RAIL")
    choose(TELEPHONES, settings, "TELEPHONY")
    if settings.TELEPHONY == "twilio" and (
        settings.TWILIO_ACCOUNT_SID == DEV_ACCOUNT_SID
        or settings.TWILIO_AUTH_TOKEN == DEV_AUTH_TOKEN
    ):
        raise ConfigError(
            "TELEPHONY=twilio needs your account's TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN "
            "(from the Twilio console); the development values only sign simulated calls."
        )
    return settings


@dataclass(frozen=True)
class Services:
    """Everything the settings choose, sharing one database engine, which they own."""

    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    payments: PaymentService
    telephony: Telephony
    senders: Senders
    voice: VoiceCalls
    text: TextSessions
    pay_page: PayPage
    bridge: AgentBridge
    agent_console: AgentConsole

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        gateway: PaymentGateway | None = None,
        telephony: Telephony | None = None,
    ) -> Services:
        """The parts ``settings`` (from :func:`checked_settings`) choose, once per process.

        ``gateway`` and ``telephony`` replace the configured adapters: tests pass fakes that
        stand where the network would be, never inside our own logic.
        """
        engine = make_engine(settings.DATABASE_URL)
        factory = make_session_factory(engine)
        payments = build_payments(settings, factory, gateway)
        phone = telephony or telephony_from_settings(settings, factory)
        bridge = AgentBridge(factory, settings, phone)
        return cls(
            settings,
            engine,
            factory,
            payments,
            phone,
            senders=Senders.from_settings(settings, phone),
            voice=VoiceCalls(factory, settings, payments, phone, release_agent=bridge.unhold),
            text=TextSessions(factory, settings, payments),
            pay_page=PayPage(factory, settings, payments),
            bridge=bridge,
            agent_console=AgentConsole(factory, settings, phone, bridge, payments),
        )

    def close(self) -> None:
        """Close the database's pooled connections, once the app, command or test is done."""
        self.engine.dispose()


def build_payments(
    settings: Settings,
    factory: sessionmaker[Session],
    gateway: PaymentGateway | None = None,
) -> PaymentService:
    """The payment service on ``factory``; each approval may first become a reconnection
    request (which bills the fee), then has its receipt queued. ``gateway`` replaces the
    configured one (fault-injection tests)."""
    policy = ReconnectionPolicy.from_settings(settings)
    notices = reconnection_notices(settings.COMPANY_NAME, policy.hours)
    return PaymentService(
        factory,
        gateway or gateway_from_settings(settings, factory),
        KeyRing(settings.CAPTURE_KEY),
        dt.timedelta(minutes=settings.CAPTURE_TTL_MINUTES),
        on_approved=_in_turn(requests(policy, notices), email_receipts(settings.COMPANY_NAME)),
        rail=rail_from_settings(settings, factory),
    )


def _in_turn(*hooks: ledger.OnApproved) -> ledger.OnApproved:
    """One settle hook that runs ``hooks`` in order, in the settling transaction."""

    def run(session: Session, account: Account, payment: Payment) -> None:
        for hook in hooks:
            hook(session, account, payment)

    return run
