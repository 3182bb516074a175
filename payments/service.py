"""Moving money: one entry point, :meth:`PaymentService.authorize`, for every channel and method.

Whoever wants a pending payment charged (the keypad, ``<Pay>``, a saved card by text, the pay
page, an agent's capture, Twilio's Payments API, a scheduled installment, a bank debit) names it
and the money's source in an :class:`Authorize`, and the same rule runs for all of them:

1. the pending row comes first: :func:`payments.ledger.begin` wrote and committed it, with its
   idempotency key, before anyone asks for an authorization;
2. the gateway is asked outside any transaction: no database lock is held while it answers;
3. the answer is settled once (:func:`payments.ledger.settle`), in its own transaction;
4. on doubt (no answer, or no card any more) the gateway's books are asked, never a new key.

A bank account goes to the bank rail (:mod:`payments.rails`) instead of the card gateway, by
the same four steps: its acceptance is the approval, and its progress afterwards is
:mod:`payments.bank_debits`'.

Every step is safe to repeat: the gateway sees the same idempotency key, ``settle`` is a no-op
on a settled row, and a payment whose outcome is unknown is only ever asked about, never
re-charged under a new key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db import transaction
from ivr.models import BankDebit, Payment, PaymentKind, PaymentStatus
from payments import ledger
from payments.capture import CapturedCard, CardVault, KeyRing, open_card
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
from payments.rails import BankAccount, BankRail, DebitRequest, SecCode, StoredBankAccount

RECONCILE_AFTER = dt.timedelta(minutes=10)
NEVER_CHARGED = ChargeResult(ChargeStatus.FAILED, decline_reason=DeclineReason.PROCESSING_ERROR)


@dataclass(frozen=True)
class SavedCard:
    """A card the gateway holds, by the token of an earlier approval (a saved method, a
    scheduled installment): no card data passes through us."""

    token: str


@dataclass(frozen=True)
class CardInHand:
    """A card held in memory for this request only (the pay page), never stored."""

    card: Card


@dataclass(frozen=True)
class PaidElsewhere:
    """Twilio took the card (``<Pay>``, the Payments API) and asked the gateway itself: its
    answer, and only the card facts safe to keep. Nothing is sent; it is settled as it is."""

    answer: ChargeResult
    brand: str | None = None
    last4: str | None = None
    exp: tuple[int, int] | None = None


@dataclass(frozen=True)
class BankInHand:
    """A bank account held in memory for this request only (the pay page), never stored."""

    account: BankAccount


@dataclass(frozen=True)
class SavedBank:
    """A bank account the rail holds, by the token of an earlier debit."""

    token: str


BankSource = BankInHand | SavedBank
PaymentSource = CapturedCard | SavedCard | CardInHand | PaidElsewhere | BankSource


@dataclass(frozen=True)
class Authorize:
    """A flow's request that money move: charge the pending payment ``payment_id`` (written by
    :func:`payments.ledger.begin`) with the card ``source`` names."""

    payment_id: int
    source: PaymentSource


@dataclass(frozen=True)
class Reconciled:
    payment_id: int
    before: PaymentStatus
    after: PaymentStatus


class PaymentService:
    def __init__(
        self,
        factory: sessionmaker[Session],
        gateway: PaymentGateway,
        keys: KeyRing,
        capture_ttl: dt.timedelta,
        on_approved: ledger.OnApproved | None = None,
        rail: BankRail | None = None,
    ) -> None:
        self.factory = factory
        self.gateway = gateway
        self.rail = rail
        self.keys = keys
        self.capture_ttl = capture_ttl
        self.on_approved = on_approved

    def vault(self, session: Session, now: dt.datetime) -> CardVault:
        """The capture vault on ``session``. Keeps card fields; must NOT move money."""
        return CardVault(session, self.keys, self.capture_ttl, now)

    def authorize(self, order: Authorize, now: dt.datetime) -> Payment:
        """Charge the pending payment ``order`` names, at most once per idempotency key, and
        return its row as settled (or ``unknown`` when the gateway could not say).

        Runs outside any transaction: call it after the transaction that wrote the pending row
        (or chose to authorize it) has committed; it opens its own, and none is open while
        the gateway answers. A settled payment is returned as it is, with nothing sent. A
        captured card that is gone (the capture expired) is never asked for again: the
        gateway's books settle the row (:meth:`reconcile_one`). ``now`` is when a captured
        card must still be valid.
        """
        source = order.source
        if isinstance(source, PaidElsewhere):
            facts = (source.brand, source.last4, source.exp)
            return self._settle(order.payment_id, source.answer, facts, keyed=False)
        if isinstance(source, BankInHand | SavedBank):
            return self._debit(order.payment_id, source)
        keyed = isinstance(source, CapturedCard)
        with transaction(self.factory) as session:
            payment = session.get(Payment, order.payment_id)
            assert payment is not None
            if payment.status in ledger.SETTLED:
                return payment
            card = self._card(source, now)
            if card is None:
                request = None
            else:
                request = ChargeRequest(
                    payment.idempotency_key,
                    payment.amount_cents + payment.fee_cents,
                    card,
                    metadata={"payment_id": str(payment.id)},
                )
        if request is None:
            return self.reconcile_one(order.payment_id)
        try:
            answer = self.gateway.charge(request)
        except GatewayTimeout:
            with transaction(self.factory) as session:
                return ledger.mark_unknown(session, order.payment_id, wipe=keyed)
        except GatewayError:
            answer = NEVER_CHARGED
        exp = (card.exp_month, card.exp_year) if isinstance(card, Card) else None
        return self._settle(order.payment_id, answer, (None, None, exp), keyed=keyed)

    def _bank_rail(self) -> BankRail:
        if self.rail is None:
            raise GatewayError("no bank rail is configured (BANK_RAIL)")
        return self.rail

    def _debit(self, payment_id: int, source: BankSource) -> Payment:
        """Ask the rail to take a pending bank payment on the date its debit names."""
        rail = self._bank_rail()
        with transaction(self.factory) as session:
            payment = session.get(Payment, payment_id)
            debit = session.get(BankDebit, payment_id)
            assert payment is not None and debit is not None
            if payment.status in ledger.SETTLED:
                return payment
            account = (
                source.account
                if isinstance(source, BankInHand)
                else StoredBankAccount(source.token)
            )
            request = DebitRequest(
                payment.idempotency_key,
                payment.amount_cents + payment.fee_cents,
                account,
                debit.effective_date,
                SecCode(debit.sec_code),
                individual_id=str(payment.account_id),
                metadata={"payment_id": str(payment.id)},
            )
        try:
            answer = rail.debit(request)
        except GatewayTimeout:
            with transaction(self.factory) as session:
                return ledger.mark_unknown(session, payment_id, wipe=False)
        except GatewayError:
            answer = NEVER_CHARGED
        with transaction(self.factory) as session:
            payment = ledger.settle(
                session, payment_id, answer, on_approved=self.on_approved, wipe=False
            )
            debit = session.get_one(BankDebit, payment_id)
            debit.token = payment.gateway_token or debit.token
            return payment

    def _card(self, source: PaymentSource, now: dt.datetime) -> Card | StoredCard | None:
        """The card to send; ``None`` when the captured one is gone. Must NOT move money."""
        if isinstance(source, CapturedCard):
            return open_card(self.keys, source.row, now) if source.row is not None else None
        if isinstance(source, SavedCard):
            return StoredCard(source.token)
        assert isinstance(source, CardInHand)
        return source.card

    def _settle(
        self,
        payment_id: int,
        answer: ChargeResult,
        facts: tuple[str | None, str | None, tuple[int, int] | None],
        *,
        keyed: bool,
    ) -> Payment:
        """Record the gateway's answer once, in a transaction of its own. The card fields
        keyed for the payment (``keyed``: a captured card) go with it; other sources left
        none to wipe."""
        brand, last4, exp = facts
        with transaction(self.factory) as session:
            return ledger.settle(
                session,
                payment_id,
                answer,
                exp=exp,
                brand=brand,
                last4=last4,
                on_approved=self.on_approved,
                wipe=keyed,
            )

    def reconcile_one(self, payment_id: int) -> Payment:
        """Settle an unsettled payment from the gateway's books. Must NOT move money: it only
        asks :meth:`PaymentGateway.find` what happened to the payment's key."""
        with transaction(self.factory) as session:
            payment = session.get(Payment, payment_id)
            assert payment is not None
            key = payment.idempotency_key
            books = self._bank_rail() if payment.method is PaymentKind.BANK else self.gateway
        try:
            result = books.find(key)
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
        ones may still be in flight, and some gateways' search lags their charges. Must NOT
        move money (:meth:`reconcile_one`)."""
        with transaction(self.factory) as session:
            query = select(Payment.id, Payment.status).where(
                Payment.status.in_(ledger.IN_FLIGHT), Payment.created_at < now - stale_after
            )
            open_payments = [(row.id, row.status) for row in session.execute(query)]
        return [
            Reconciled(payment_id, before, self.reconcile_one(payment_id).status)
            for payment_id, before in open_payments
        ]
