"""The embedded sandbox rail: deterministic on its test account numbers.

Any valid routing number works. The account number decides what the bank does a business day
after the debit's date: :data:`TEST_RETURNS` are returned with their reason code, any other
account settles. Like the sandbox gateway it keeps its own books in its own transaction, so a
repeated key books nothing twice.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import Settings
from ivr.db import insert_on_conflict, transaction
from ivr.models import DebitState
from payments.gateways import ChargeResult, ChargeStatus, DeclineReason
from payments.rails import BankAccount, DebitRequest, Tracking
from payments.rails.sandbox_tables import SandboxDebit

SETTLES: Final = "000123456789"
TEST_RETURNS: Final = {
    "000222222227": "R01",  # insufficient funds
    "000111111116": "R02",  # account closed
    "000111111113": "R03",  # no account
    "000444444440": "R10",  # customer says not authorized
}


def _result(row: SandboxDebit) -> ChargeResult:
    return ChargeResult(ChargeStatus.APPROVED, reference=row.reference, token=row.token)


class SandboxRail:
    name = "sandbox"

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    @classmethod
    def from_settings(cls, settings: Settings, factory: sessionmaker[Session]) -> SandboxRail:
        return cls(factory)

    def debit(self, request: DebitRequest) -> ChargeResult:
        """Accept the debit (once per key). A stored account is accepted only if this rail
        issued its token; its later debits end as its first did."""
        with transaction(self.factory) as session:
            account = request.account
            if isinstance(account, BankAccount):
                token, code = (
                    "ba_sbx_" + secrets.token_hex(8),
                    TEST_RETURNS.get(account.account_number),
                )
            else:
                first = session.scalars(
                    select(SandboxDebit).where(SandboxDebit.token == account.token).limit(1)
                ).first()
                if first is None:
                    return ChargeResult(
                        ChargeStatus.DECLINED, decline_reason=DeclineReason.DECLINED
                    )
                token, code = first.token, first.return_code
            booked = insert_on_conflict(session, SandboxDebit).values(
                idempotency_key=request.idempotency_key,
                amount_cents=request.amount_cents,
                reference="sbx_ach_" + secrets.token_hex(8),
                token=token,
                effective_date=request.effective_date,
                return_code=code,
            )
            row = session.scalars(
                booked.on_conflict_do_nothing().returning(SandboxDebit)
            ).one_or_none()
            if row is None:
                row = session.get_one(SandboxDebit, request.idempotency_key)
            return _result(row)

    def find(self, idempotency_key: str) -> ChargeResult | None:
        with transaction(self.factory) as session:
            row = session.get(SandboxDebit, idempotency_key)
            return _result(row) if row else None

    def track(self, reference: str, today: dt.date) -> Tracking | None:
        """Pending before its date, submitted on it, settled or returned the day after."""
        with transaction(self.factory) as session:
            row = session.scalars(
                select(SandboxDebit).where(SandboxDebit.reference == reference)
            ).one_or_none()
            if row is None:
                return None
            if today < row.effective_date:
                return Tracking(DebitState.PENDING)
            if today == row.effective_date:
                return Tracking(DebitState.SUBMITTED)
            if row.return_code:
                return Tracking(DebitState.RETURNED, row.return_code)
            return Tracking(DebitState.SETTLED)
