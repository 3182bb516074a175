"""Payment gateways behind one interface.

::

    GatewayError            the gateway could not be asked (bad configuration, refused request)
     └── GatewayTimeout     the request went out but no answer came back: the outcome is unknown

Contract for every adapter (``sandbox``, ``stripe``):

- :meth:`PaymentGateway.charge` moves money at most once per ``idempotency_key``; asking again with
  the same key returns the first answer and never charges twice.
- :meth:`PaymentGateway.find` only reads: it reports what happened to a key (``None`` if the
  gateway never saw it) and must NOT move money. ``ivr reconcile`` relies on that.
- A :class:`StoredCard` charges the token of an earlier approval; a token the gateway does not
  know is declined, not an error.
- Declines are answers, not exceptions. Exceptions and their messages never carry card data.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Protocol

from sqlalchemy.orm import Session, sessionmaker

from ivr.config import Settings, choose


class ChargeStatus(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    FAILED = "failed"


class DeclineReason(StrEnum):
    DECLINED = "declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    EXPIRED_CARD = "expired_card"
    PROCESSING_ERROR = "processing_error"
    CANCELLED = "cancelled"  # the caller stopped before anything was charged


@dataclass(frozen=True, repr=False)
class Card:
    """Card data for one authorization. Its repr shows only brand-safe facts."""

    number: str
    exp_month: int
    exp_year: int
    security_code: str
    postal_code: str

    def __repr__(self) -> str:
        return f"<Card ...{self.number[-4:]} exp {self.exp_month:02d}/{self.exp_year}>"


@dataclass(frozen=True)
class StoredCard:
    """A card the gateway already holds, named by the token an earlier approval returned.

    Charged without the cardholder present (a scheduled installment, a text-channel payment
    with a saved method), so no card data passes through us at all.
    """

    token: str


@dataclass(frozen=True)
class ChargeRequest:
    idempotency_key: str
    amount_cents: int
    card: Card | StoredCard
    currency: str = "usd"
    description: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChargeResult:
    status: ChargeStatus
    reference: str | None = None
    token: str | None = None
    decline_reason: DeclineReason | None = None


class GatewayError(Exception):
    """The gateway could not be asked; nothing was charged."""


class GatewayTimeout(GatewayError):  # noqa: N818 - named for what it is, like httpx's
    """No answer: the charge may or may not have happened. Never retry under a new key."""


class PaymentGateway(Protocol):
    name: str

    def charge(self, request: ChargeRequest) -> ChargeResult: ...

    def find(self, idempotency_key: str) -> ChargeResult | None: ...


class GatewayClass(Protocol):
    """An adapter class, as ``PAYMENT_GATEWAY`` chooses it."""

    def from_settings(
        self, settings: Settings, factory: sessionmaker[Session]
    ) -> PaymentGateway: ...


# What PAYMENT_GATEWAY may name, and the class each names; a class is imported only when it is
# chosen, since Stripe's SDK takes a while to load.
ADAPTERS: Final = {
    "sandbox": "payments.gateways.sandbox:SandboxGateway",
    "stripe": "payments.gateways.stripe:StripeGateway",
}


def gateway_from_settings(settings: Settings, factory: sessionmaker[Session]) -> PaymentGateway:
    """The gateway ``PAYMENT_GATEWAY`` names, built by its class's ``from_settings``
    (``factory`` is the app's database, where the sandbox keeps its books)."""
    module, _, name = choose(ADAPTERS, settings, "PAYMENT_GATEWAY").partition(":")
    adapter: GatewayClass = getattr(importlib.import_module(module), name)
    return adapter.from_settings(settings, factory)
