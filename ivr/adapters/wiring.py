"""Choosing and building adapters from settings, shared by the web app and the CLI."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from ivr.channels.email_receipts import email_receipts
from ivr.config import ConfigError, Settings
from payments.capture import KeyRing
from payments.gateways import PaymentGateway
from payments.gateways.sandbox import SandboxGateway
from payments.service import PaymentService

GATEWAYS = ("sandbox", "stripe")


def build_gateway(settings: Settings, factory: sessionmaker[Session]) -> PaymentGateway:
    if settings.PAYMENT_GATEWAY == "sandbox":
        return SandboxGateway(factory, settings.SANDBOX_DELAY_MS)
    if settings.PAYMENT_GATEWAY == "stripe":
        from payments.gateways.stripe import StripeGateway

        if not settings.STRIPE_API_KEY:
            raise ConfigError("PAYMENT_GATEWAY=stripe needs STRIPE_API_KEY.")
        return StripeGateway(
            settings.STRIPE_API_KEY,
            api_base=settings.STRIPE_API_BASE,
            timeout_seconds=settings.GATEWAY_TIMEOUT_SECONDS,
        )
    known = ", ".join(GATEWAYS)
    raise ConfigError(
        f"PAYMENT_GATEWAY={settings.PAYMENT_GATEWAY!r} is unknown; use one of: {known}."
    )


def build_payments(
    settings: Settings,
    factory: sessionmaker[Session],
    gateway: PaymentGateway | None = None,
) -> PaymentService:
    """The payment service; ``gateway`` replaces the configured one (fault-injection tests)."""
    try:
        keys = KeyRing(settings.CAPTURE_KEY)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return PaymentService(
        factory,
        gateway or build_gateway(settings, factory),
        keys,
        dt.timedelta(minutes=settings.CAPTURE_TTL_MINUTES),
        on_approved=email_receipts(settings.COMPANY_NAME),
    )
