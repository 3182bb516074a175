"""Choosing and building adapters from settings, shared by the web app and the CLI."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from ivr.channels.email_receipts import email_receipts
from ivr.config import Settings, unknown
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

        return StripeGateway(
            settings.STRIPE_API_KEY,
            api_base=settings.STRIPE_API_BASE,
            timeout_seconds=settings.GATEWAY_TIMEOUT_SECONDS,
        )
    raise unknown("PAYMENT_GATEWAY", settings.PAYMENT_GATEWAY, GATEWAYS)


def build_payments(
    settings: Settings,
    factory: sessionmaker[Session],
    gateway: PaymentGateway | None = None,
) -> PaymentService:
    """The payment service; ``gateway`` replaces the configured one (fault-injection tests)."""
    return PaymentService(
        factory,
        gateway or build_gateway(settings, factory),
        KeyRing(settings.CAPTURE_KEY),
        dt.timedelta(minutes=settings.CAPTURE_TTL_MINUTES),
        on_approved=email_receipts(settings.COMPANY_NAME),
    )
