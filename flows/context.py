"""What a step may use besides the conversation itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.models import Account, Conversation
from payments.capture import CardVault, RecordingControl
from payments.ledger import DeclineLimits
from payments.policy import PaymentPolicy
from payments.service import PaymentService
from prompts import Prompt
from verification import Verifier, VerifierPolicy


@dataclass
class Context:
    """Per-request services: the open transaction, settings, who is calling and when.

    ``payments`` and ``recording`` are wired by the channel; flows that take no payment (and
    their unit tests) can leave them out.
    """

    session: Session
    settings: Settings
    caller: str | None
    origin: str
    now: dt.datetime
    payments: PaymentService | None = None
    recording: RecordingControl | None = None

    @cached_property
    def verifier(self) -> Verifier:
        return Verifier(
            self.session,
            VerifierPolicy.from_settings(self.settings),
            caller=self.caller,
            origin=self.origin,
            now=self.now,
        )

    @cached_property
    def payment_policy(self) -> PaymentPolicy:
        return PaymentPolicy.from_settings(self.settings)

    @cached_property
    def decline_limits(self) -> DeclineLimits:
        return DeclineLimits.from_settings(self.settings)

    @cached_property
    def vault(self) -> CardVault:
        if self.payments is None:
            raise RuntimeError("this channel was not wired with a payment service")
        return self.payments.vault(self.session, self.now)


def phrase(key: str, **params: object) -> Prompt:
    """A prompt of the catalog with its parameters: what every step says."""
    return Prompt(key, dict(params))


def verified_account(conv: Conversation) -> Account:
    """The caller's account, for steps only reachable after verification."""
    if conv.account is None:
        raise RuntimeError(f"step {conv.state!r} reached without a verified account")
    return conv.account
