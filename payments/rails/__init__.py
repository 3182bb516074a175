"""Bank rails: where bank debits go (a sandbox, a NACHA file for the utility's bank, Stripe).

A bank debit is not instant. The rail accepts it (``ChargeStatus.APPROVED``: the amount comes
off the balance and the caller hears the date it will be taken), then reports it ``submitted``
to the banks, and at last ``settled`` or ``returned`` with a NACHA return reason code, which
puts the amount back (:mod:`payments.bank_debits`).

Contract for every rail, as for card gateways (:mod:`payments.gateways`):

- :meth:`BankRail.debit` books a debit at most once per ``idempotency_key``; asking again with
  the same key returns the first answer.
- :meth:`BankRail.find` and :meth:`BankRail.track` only read: they must NOT move money.
- Exceptions and their messages never carry an account number.
"""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Protocol

from sqlalchemy.orm import Session, sessionmaker

from ivr.config import Settings, choose
from ivr.models import BankAccountType, DebitState
from payments.gateways import ChargeResult


class SecCode(StrEnum):
    """How the debit was authorized, as NACHA names it."""

    TEL = "TEL"  # by telephone, the authorization read and recorded
    WEB = "WEB"  # on the pay page


@dataclass(frozen=True, repr=False)
class BankAccount:
    """Bank account data for one debit. Its repr shows only the type and the last four."""

    routing_number: str
    account_number: str
    account_type: BankAccountType
    holder_name: str

    def __repr__(self) -> str:
        return f"<BankAccount {self.account_type.value} ...{self.account_number[-4:]}>"


@dataclass(frozen=True)
class StoredBankAccount:
    """An account the rail already holds, by the token an earlier debit returned."""

    token: str


@dataclass(frozen=True)
class DebitRequest:
    idempotency_key: str
    amount_cents: int
    account: BankAccount | StoredBankAccount
    effective_date: dt.date
    sec_code: SecCode
    individual_id: str  # the customer's account number with the utility
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Tracking:
    """Where a debit is on the rail now; ``return_code`` only for ``returned``."""

    state: DebitState
    return_code: str | None = None


class BankRail(Protocol):
    name: str

    def debit(self, request: DebitRequest) -> ChargeResult: ...

    def find(self, idempotency_key: str) -> ChargeResult | None: ...

    def track(self, reference: str, today: dt.date) -> Tracking | None: ...


class RailClass(Protocol):
    def from_settings(self, settings: Settings, factory: sessionmaker[Session]) -> BankRail: ...


ADAPTERS: Final = {
    "sandbox": "payments.rails.sandbox:SandboxRail",
}


def rail_from_settings(settings: Settings, factory: sessionmaker[Session]) -> BankRail:
    """The rail ``BANK_RAIL`` names, built by its class's ``from_settings``."""
    module, _, name = choose(ADAPTERS, settings, "BANK_RAIL").partition(":")
    adapter: RailClass = getattr(importlib.import_module(module), name)
    return adapter.from_settings(settings, factory)
