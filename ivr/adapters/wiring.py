"""Choosing and building adapters from settings, shared by the web app and the CLI."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from ivr.channels.email_receipts import email_receipts
from ivr.config import Settings
from payments.capture import KeyRing
from payments.gateways import PaymentGateway, gateway_from_settings
from payments.service import PaymentService


def build_payments(
    settings: Settings,
    factory: sessionmaker[Session],
    gateway: PaymentGateway | None = None,
) -> PaymentService:
    """The payment service; ``gateway`` replaces the configured one (fault-injection tests)."""
    return PaymentService(
        factory,
        gateway or gateway_from_settings(settings, factory),
        KeyRing(settings.CAPTURE_KEY),
        dt.timedelta(minutes=settings.CAPTURE_TTL_MINUTES),
        on_approved=email_receipts(settings.COMPANY_NAME),
    )
