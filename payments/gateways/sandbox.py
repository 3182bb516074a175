"""The embedded sandbox gateway: deterministic on the well-known test card numbers.

It keeps its own books (``sandbox_charges``) in its own transaction, like a remote processor,
so ``find`` answers after a crash exactly as a real gateway would, and a repeated key never
charges twice, even when two requests race (one atomic insert decides).
"""

from __future__ import annotations

import secrets
import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import Settings
from ivr.db import insert_on_conflict, transaction
from payments.gateways import (
    Card,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    DeclineReason,
    StoredCard,
)
from payments.gateways.sandbox_tables import SandboxCharge

TEST_DECLINES = {
    "4000000000000002": DeclineReason.DECLINED,
    "4000000000009995": DeclineReason.INSUFFICIENT_FUNDS,
    "4000000000000069": DeclineReason.EXPIRED_CARD,
    "4000000000000119": DeclineReason.PROCESSING_ERROR,
}


def _result(row: SandboxCharge) -> ChargeResult:
    return ChargeResult(
        status=ChargeStatus(row.status),
        reference=row.reference,
        token=row.token,
        decline_reason=DeclineReason(row.decline_reason) if row.decline_reason else None,
    )


class SandboxGateway:
    name = "sandbox"

    def __init__(self, factory: sessionmaker[Session], delay_ms: int = 0) -> None:
        self.factory = factory
        self.delay = delay_ms / 1000

    @classmethod
    def from_settings(cls, settings: Settings, factory: sessionmaker[Session]) -> SandboxGateway:
        """Keeping its books in the app's database, ``factory``."""
        return cls(factory, settings.SANDBOX_DELAY_MS)

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Book the charge (once per key), then answer after ``delay_ms``: the time a remote
        processor's answer spends on its way back, when a crash loses it."""
        with transaction(self.factory) as session:
            reason, token = self._decide(session, request.card)
            values = {
                "idempotency_key": request.idempotency_key,
                "amount_cents": request.amount_cents,
                "status": (ChargeStatus.DECLINED if reason else ChargeStatus.APPROVED).value,
                "decline_reason": reason.value if reason else None,
                "reference": "sbx_" + secrets.token_hex(8),
                "token": None if reason else token,
            }
            booked = insert_on_conflict(session, SandboxCharge).values(values)
            booked = booked.on_conflict_do_nothing()
            row = session.scalars(booked.returning(SandboxCharge)).one_or_none()
            if row is None:  # the key was booked before: answer as then
                row = session.get_one(SandboxCharge, request.idempotency_key)
            result = _result(row)
        if self.delay:
            time.sleep(self.delay)
        return result

    @staticmethod
    def _decide(session: Session, card: Card | StoredCard) -> tuple[DeclineReason | None, str]:
        """The decline reason (``None`` approves) and the token an approval returns.

        A stored card is approved only if an earlier approval here issued its token.
        """
        if isinstance(card, StoredCard):
            issued = session.scalar(
                select(SandboxCharge.token)
                .where(SandboxCharge.token == card.token, SandboxCharge.status == "approved")
                .limit(1)
            )
            return (None if issued else DeclineReason.DECLINED), card.token
        return TEST_DECLINES.get(card.number), "tok_sbx_" + secrets.token_hex(8)

    def find(self, idempotency_key: str) -> ChargeResult | None:
        with transaction(self.factory) as session:
            row = session.get(SandboxCharge, idempotency_key)
            return _result(row) if row else None
