"""Taking a payment: prepare (write the pending row), execute (ask the gateway), settle.

``execute`` runs outside any webhook transaction, because the gateway call must never hold a
database lock, and because the pending row must be committed before money can move. Every
path is safe to repeat: the gateway sees the same idempotency key, ``settle`` is a no-op on a
settled row, and a payment whose outcome is unknown is only ever asked about, never re-charged
under a new key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db import transaction
from ivr.models import Payment, PaymentStatus
from payments import ledger
from payments.capture import CardVault, KeyRing
from payments.gateways import (
    Card,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    DeclineReason,
    GatewayError,
    GatewayTimeout,
    PaymentGateway,
    StoredCard,
)

RECONCILE_AFTER = dt.timedelta(minutes=10)
NEVER_CHARGED = ChargeResult(ChargeStatus.FAILED, decline_reason=DeclineReason.PROCESSING_ERROR)


@dataclass(frozen=True)
class Reconciled:
    payment_id: int
    before: PaymentStatus
    after: PaymentStatus


@dataclass(frozen=True)
class Charge:
    """One gateway request for a pending payment."""

    payment_id: int
    request: ChargeRequest


def _charge_for(payment: Payment, card: Card | StoredCard) -> Charge:
    request = ChargeRequest(
        payment.idempotency_key,
        payment.amount_cents + payment.fee_cents,
        card,
        metadata={"payment_id": str(payment.id)},
    )
    return Charge(payment.id, request)


class PaymentService:
    def __init__(
        self,
        factory: sessionmaker[Session],
        gateway: PaymentGateway,
        keys: KeyRing,
        capture_ttl: dt.timedelta,
        on_approved: ledger.OnApproved | None = None,
    ) -> None:
        self.factory = factory
        self.gateway = gateway
        self.keys = keys
        self.capture_ttl = capture_ttl
        self.on_approved = on_approved

    def vault(self, session: Session, now: dt.datetime) -> CardVault:
        return CardVault(session, self.keys, self.capture_ttl, now)

    def execute(self, payment_id: int, now: dt.datetime) -> Payment:
        """Charge a pending payment with the card captured for its call, once."""
        with transaction(self.factory) as session:
            charge = self.prepare(session, payment_id, now)
        if isinstance(charge, Payment):
            return charge
        if charge is None:
            return self.reconcile_one(payment_id)
        return self.finish(charge, self.send(charge))

    def execute_stored(self, payment_id: int, token: str, now: dt.datetime) -> Payment:
        """Charge a pending payment to a card the gateway holds (``token``), once."""
        return self.execute_with(payment_id, StoredCard(token), now)

    def execute_with(self, payment_id: int, card: Card | StoredCard, now: dt.datetime) -> Payment:
        """Charge a pending payment, once, with a card the gateway holds or one held in memory
        for this request only (the pay page), never stored."""
        with transaction(self.factory) as session:
            payment = session.get(Payment, payment_id)
            assert payment is not None
            if payment.status in ledger.SETTLED:
                return payment
            charge = _charge_for(payment, card)
        return self.finish(charge, self.send(charge))

    def prepare(
        self, session: Session, payment_id: int, now: dt.datetime
    ) -> Charge | Payment | None:
        """What to send for a pending payment, read in the caller's transaction.

        The settled row if there is nothing left to do; ``None`` if the captured card is gone
        (the capture expired), when only the gateway can say whether an earlier try went through
        (:meth:`reconcile_one`).
        """
        payment = session.get(Payment, payment_id)
        assert payment is not None
        if payment.status in ledger.SETTLED:
            return payment
        card = self.vault(session, now).card(payment.session_sid or "")
        return _charge_for(payment, card) if card else None

    def send(self, charge: Charge) -> ChargeResult | GatewayTimeout:
        """Ask the gateway, outside any transaction: no database lock is held while it answers."""
        try:
            return self.gateway.charge(charge.request)
        except GatewayTimeout as unknown:
            return unknown
        except GatewayError:
            return NEVER_CHARGED

    def record(
        self, session: Session, charge: Charge, answer: ChargeResult | GatewayTimeout
    ) -> Payment:
        """Settle the payment with the gateway's answer (or mark it unknown); either drops the
        card captured for it (:mod:`payments.ledger`)."""
        if isinstance(answer, GatewayTimeout):
            return ledger.mark_unknown(session, charge.payment_id)
        card = charge.request.card
        exp = (card.exp_month, card.exp_year) if isinstance(card, Card) else None
        return ledger.settle(
            session, charge.payment_id, answer, exp=exp, on_approved=self.on_approved
        )

    def finish(self, charge: Charge, answer: ChargeResult | GatewayTimeout) -> Payment:
        with transaction(self.factory) as session:
            return self.record(session, charge, answer)

    def reconcile_one(self, payment_id: int) -> Payment:
        """Settle an unsettled payment from the gateway's books (read-only at the gateway)."""
        with transaction(self.factory) as session:
            payment = session.get(Payment, payment_id)
            assert payment is not None
            key = payment.idempotency_key
        try:
            result = self.gateway.find(key)
        except GatewayError:
            with transaction(self.factory) as session:
                return ledger.mark_unknown(session, payment_id)
        with transaction(self.factory) as session:
            return ledger.settle(
                session,
                payment_id,
                result or NEVER_CHARGED,
                actor="reconcile",
                on_approved=self.on_approved,
            )

    def reconcile(
        self, now: dt.datetime, stale_after: dt.timedelta = RECONCILE_AFTER
    ) -> list[Reconciled]:
        """Settle every ``pending`` or ``unknown`` payment older than ``stale_after``: younger
        ones may still be in flight, and some gateways' search lags their charges."""
        with transaction(self.factory) as session:
            query = select(Payment.id, Payment.status).where(
                Payment.status.in_(ledger.IN_FLIGHT), Payment.created_at < now - stale_after
            )
            open_payments = [(row.id, row.status) for row in session.execute(query)]
        return [
            Reconciled(payment_id, before, self.reconcile_one(payment_id).status)
            for payment_id, before in open_payments
        ]
