"""The payment ledger: rows written before money moves, settled exactly once after.

``begin`` writes a pending row (with its idempotency key) in its own committed transaction
before the gateway is called. ``settle`` locks the row, takes an approval off the balance in
one atomic ``UPDATE``, and is a no-op for a row already settled, so a replayed webhook, a
second worker or ``ivr reconcile`` can all call it safely. Balance, payment, audit entry and
the wipe of the call's captured card change in one transaction: whoever settles a payment,
its card fields do not outlive it.

``begin`` is also where card testing stops: every gateway authorization, on every channel
(keypad capture, ``<Pay>``, agent-assisted capture, the pay page, a saved card by text), needs
a pending row first, and past :class:`DeclineLimits` no row is written, so no card reaches the
gateway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum

from sqlalchemy import case, func, select, union_all, update
from sqlalchemy.orm import Session

from ivr import audit
from ivr.config import Settings
from ivr.db import insert_on_conflict, lock_row
from ivr.models import (
    Account,
    AccountStatus,
    Arrangement,
    Dispute,
    Payment,
    PaymentKind,
    PaymentStatus,
    ReconnectionRequest,
    ReconnectionStatus,
    utcnow,
)
from payments import capture
from payments.confirmation import new_confirmation_number
from payments.gateways import ChargeResult, ChargeStatus, DeclineReason

IN_FLIGHT = (PaymentStatus.PENDING, PaymentStatus.UNKNOWN)
SETTLED = (PaymentStatus.APPROVED, PaymentStatus.DECLINED, PaymentStatus.FAILED)


def last_approved_payment(session: Session, account_id: int) -> Payment | None:
    query = (
        select(Payment)
        .where(Payment.account_id == account_id, Payment.status == PaymentStatus.APPROVED)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def lock_account(session: Session, account_id: int) -> Account:
    """The account row, locked until commit (PostgreSQL; SQLite's write lock covers it)."""
    account = lock_row(session, Account, account_id)
    assert account is not None
    return account


def take_off_balance(session: Session, account_id: int, amount_cents: int) -> Account:
    """Lower the balance and the minimum due (not below zero) by an approved amount: one
    atomic ``UPDATE ... RETURNING``, so concurrent settlements cannot lose each other's."""
    session.flush()  # pending changes would otherwise be overwritten by the returned row
    minimum = Account.minimum_due_cents
    statement = (
        update(Account)
        .where(Account.id == account_id)
        .values(
            balance_cents=Account.balance_cents - amount_cents,
            minimum_due_cents=case((minimum > amount_cents, minimum - amount_cents), else_=0),
        )
        .returning(Account)
        .execution_options(populate_existing=True)
    )
    return session.scalars(statement).one()


def in_flight_cents(session: Session, account_id: int) -> int:
    query = select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
        Payment.account_id == account_id, Payment.status.in_(IN_FLIGHT)
    )
    return int(session.scalar(query) or 0)


def pending_reconnection(session: Session, account_id: int) -> ReconnectionRequest | None:
    """The account's reconnection already paid for, that the billing system has yet to do."""
    query = select(ReconnectionRequest).where(
        ReconnectionRequest.account_id == account_id,
        ReconnectionRequest.status == ReconnectionStatus.PENDING,
    )
    return session.scalars(query.order_by(ReconnectionRequest.id.desc()).limit(1)).first()


def reconnection_fee_due(session: Session, account: Account, fee_cents: int) -> int:
    """The reconnection fee a disconnected account may pay on top of its balance: ``fee_cents``
    (the setting), unless a pending request already paid it (the fee is never asked twice)."""
    if account.status is not AccountStatus.DISCONNECTED:
        return 0
    return 0 if pending_reconnection(session, account.id) else fee_cents


def payable_cents(session: Session, account: Account, reconnection_fee_cents: int) -> int:
    """What may be paid now: the balance less payments already in flight (so two calls cannot
    both pay it in full), plus the reconnection fee a disconnected account still owes."""
    in_flight = in_flight_cents(session, account.id)
    return (
        account.balance_cents
        - in_flight
        + reconnection_fee_due(session, account, reconnection_fee_cents)
    )


@dataclass(frozen=True)
class NewPayment:
    """What is known before the gateway is asked."""

    account_id: int
    amount_cents: int
    fee_cents: int
    idempotency_key: str
    channel: str
    session_sid: str | None
    gateway: str
    brand: str | None = None
    last4: str | None = None
    method: PaymentKind = PaymentKind.CARD


class PaymentRefusedError(Exception):
    """Other payments in flight already cover the balance (two calls paying at once), or
    could still be declined past a :class:`DeclineLimits` limit: try again once they settle."""


DECLINE_WINDOW = dt.timedelta(hours=24)
"""How far back declines count: a call or a pay link lasts minutes, "a day" for an account."""


class DeclineScope(StrEnum):
    SESSION = "session"  # one call (keypad, <Pay>, agent-assisted) or one pay link
    ACCOUNT = "account"  # every channel, in any 24 hours


class DeclineLimitError(PaymentRefusedError):
    """Too many cards were declined in this session or on this account: no more are tried."""

    def __init__(self, scope: DeclineScope) -> None:
        super().__init__(f"decline limit reached for this {scope.value}")
        self.scope = scope


@dataclass(frozen=True)
class DeclineLimits:
    """Declined cards allowed before the line stops trying cards: a card tester's budget."""

    per_session: int
    per_account: int

    @classmethod
    def from_settings(cls, settings: Settings) -> DeclineLimits:
        return cls(settings.MAX_DECLINES_PER_SESSION, settings.MAX_DECLINES_PER_ACCOUNT)


@dataclass(frozen=True)
class _Tries:
    """Card payments in the window that were declined, or are still in flight (and so may yet
    be): the account's, and those of one session."""

    account_declined: int
    account_open: int
    session_declined: int
    session_open: int


def _tries(session: Session, account_id: int, session_sid: str | None) -> _Tries:
    session.flush()  # a payment settled in this transaction counts (voice turns: no autoflush)
    declined = Payment.status == PaymentStatus.DECLINED
    open_ = Payment.status.in_(IN_FLIGHT)
    mine = Payment.session_sid == session_sid
    query = select(
        func.count().filter(declined),
        func.count().filter(open_),
        func.count().filter(declined & mine),
        func.count().filter(open_ & mine),
    ).where(
        Payment.account_id == account_id,
        Payment.created_at >= utcnow() - DECLINE_WINDOW,
        Payment.status.in_((PaymentStatus.DECLINED, *IN_FLIGHT)),
    )
    row = session.execute(query).one()
    return _Tries(*(int(count or 0) for count in row))


def _reached(
    tries: _Tries, limits: DeclineLimits, session_sid: str | None, *, with_open: bool
) -> DeclineScope | None:
    """The account's limit first: it lasts longer, so calling back will not help."""
    if tries.account_declined + (tries.account_open if with_open else 0) >= limits.per_account:
        return DeclineScope.ACCOUNT
    session_count = tries.session_declined + (tries.session_open if with_open else 0)
    if session_sid is not None and session_count >= limits.per_session:
        return DeclineScope.SESSION
    return None


def decline_limit(
    session: Session, account_id: int, session_sid: str | None, limits: DeclineLimits
) -> DeclineScope | None:
    """Which limit the declines already counted reach (``None``: another card may be tried).

    Channels ask it to say so before a card is even keyed; :func:`begin` enforces it."""
    return _reached(_tries(session, account_id, session_sid), limits, session_sid, with_open=False)


def refuse_card(
    session: Session,
    account: Account,
    channel: str,
    session_sid: str | None,
    limits: DeclineLimits,
) -> DeclineScope | None:
    """:func:`decline_limit` for a caller who asked to pay by card, audited when it refuses."""
    scope = decline_limit(session, account.id, session_sid, limits)
    if scope is not None:
        _record_decline_limit(session, account, _origin(channel, session_sid), scope)
    return scope


def _refusal(
    session: Session, account: Account, new: NewPayment, limits: DeclineLimits | None
) -> PaymentRefusedError | None:
    """Why ``new`` may not start as far as declines go, judged under the account lock.

    A payment in flight may still be declined, so it counts against the limits until it
    settles: however many requests race, no more than the limit can ever be declined.
    """
    if limits is None:
        return None
    tries = _tries(session, account.id, new.session_sid)
    scope = _reached(tries, limits, new.session_sid, with_open=False)
    if scope is not None:
        return DeclineLimitError(scope)
    if _reached(tries, limits, new.session_sid, with_open=True) is not None:
        return PaymentRefusedError(f"account {account.last4}: a payment in flight may be declined")
    return None


def begin(
    session: Session,
    new: NewPayment,
    *,
    allow_overpayment: bool,
    declines: DeclineLimits | None,
    reconnection_fee_cents: int = 0,
) -> Payment:
    """The pending row for ``new``; the existing row if this key was seen before.

    The account row is locked while payments in flight and declines are counted, so of two
    calls paying the whole balance at the same moment, the second is refused instead of
    charged, and parallel tries cannot pass the decline limits. ``declines`` is ``None`` only
    for charges nobody keys a card for (scheduled installments on a stored card): a card
    tester's declines must not stop them. Past a limit, :class:`DeclineLimitError` is raised
    and its audit entry is added to the caller's transaction. The row goes in with ``ON
    CONFLICT DO NOTHING`` on its key: a key seen before costs a read only then.
    ``reconnection_fee_cents`` (the setting) may be paid on top of a disconnected account's
    balance (:func:`reconnection_fee_due`, judged under the lock too).
    """
    account = lock_account(session, new.account_id)
    payable = payable_cents(session, account, reconnection_fee_cents)
    refusal = _refusal(session, account, new, declines)
    if refusal is None and not allow_overpayment and new.amount_cents > payable:
        refusal = PaymentRefusedError(f"account {account.last4}: {payable} cents payable")
    if refusal is not None:
        existing = _by_key(session, new.idempotency_key)  # it may be what was counted
        if existing is not None:
            return existing
        if isinstance(refusal, DeclineLimitError):
            _record_decline_limit(
                session, account, _origin(new.channel, new.session_sid), refusal.scope
            )
        raise refusal
    pending = insert_on_conflict(session, Payment).values(
        **asdict(new), status=PaymentStatus.PENDING
    )
    pending = pending.on_conflict_do_nothing(index_elements=[Payment.idempotency_key])
    payment = session.scalars(pending.returning(Payment)).one_or_none()
    if payment is None:
        existing = _by_key(session, new.idempotency_key)
        assert existing is not None
        return existing
    audit.record(
        session,
        "payment.started",
        actor=_origin(new.channel, new.session_sid),
        outcome="pending",
        resource=f"payment:{payment.id}",
        origin=_origin(payment.channel, payment.session_sid),
        account=account.number,
        amount_cents=new.amount_cents,
        fee_cents=new.fee_cents,
    )
    return payment


def _record_decline_limit(
    session: Session, account: Account, origin: str, scope: DeclineScope
) -> None:
    """A card not taken because of a decline limit (the metric ``ivr_card_declines_total``
    counts these as ``refused``)."""
    audit.record(
        session,
        "payment.decline_limit",
        actor=origin,
        outcome="refused",
        resource=f"account:{account.number}",
        origin=origin,
        scope=scope.value,
    )


def _by_key(session: Session, idempotency_key: str) -> Payment | None:
    return session.scalars(
        select(Payment).where(Payment.idempotency_key == idempotency_key)
    ).one_or_none()


def _origin(channel: str, session_sid: str | None) -> str:
    """Where the payment came from, as audit entries name origins (``voice:CA...``)."""
    return f"{channel}:{session_sid or '-'}"


def _done_with_card(session: Session, payment: Payment) -> None:
    """The card fields keyed for this payment's call were sent to the gateway (or never will
    be): delete them."""
    if payment.session_sid is not None:
        capture.wipe(session, payment.session_sid)


OnApproved = Callable[[Session, Account, Payment], None]
"""Called inside the settling transaction after an approval (receipts go to the outbox here)."""


def number_taken(session: Session) -> Callable[[str], bool]:
    """Confirmation numbers are one series across payments, arrangements and disputes."""
    columns = (
        Payment.confirmation_number,
        Arrangement.confirmation_number,
        Dispute.reference_number,
    )

    def taken(number: str) -> bool:
        queries = [select(column).where(column == number) for column in columns]
        return session.execute(union_all(*queries).limit(1)).first() is not None

    return taken


def settle(
    session: Session,
    payment_id: int,
    result: ChargeResult,
    *,
    exp: tuple[int, int] | None = None,
    brand: str | None = None,
    last4: str | None = None,
    actor: str = "system",
    on_approved: OnApproved | None = None,
    wipe: bool = True,
) -> Payment:
    """Record the gateway's answer once, and wipe the card captured for it; later calls
    return the row unchanged. ``brand`` and ``last4`` are recorded when the card was first
    seen by whoever charged it (Twilio's ``<Pay>``); ``wipe=False`` when no card fields were
    keyed for the payment (a saved card, one held in memory, one Twilio took)."""
    payment = lock_row(session, Payment, payment_id)
    assert payment is not None
    if payment.status in SETTLED:
        return payment
    if wipe:
        _done_with_card(session, payment)
    if brand is not None:
        payment.brand = brand
    if last4 is not None:
        payment.last4 = last4
    approved = result.status is ChargeStatus.APPROVED
    account = (
        take_off_balance(session, payment.account_id, payment.amount_cents)
        if approved
        else session.get(Account, payment.account_id)  # for the audit entry only
    )
    assert account is not None
    payment.gateway_reference = result.reference or payment.gateway_reference
    if approved:
        payment.status = PaymentStatus.APPROVED
        payment.gateway_token = result.token
        if exp is not None:
            payment.exp_month, payment.exp_year = exp
        with session.no_autoflush:  # the row is written once, number and all
            payment.confirmation_number = new_confirmation_number(number_taken(session))
        if on_approved is not None:
            on_approved(session, account, payment)
    else:
        payment.status = (
            PaymentStatus.DECLINED
            if result.status is ChargeStatus.DECLINED
            else PaymentStatus.FAILED
        )
        payment.decline_reason = (result.decline_reason or DeclineReason.PROCESSING_ERROR).value
    audit.record(
        session,
        f"payment.{payment.status.value}",
        actor=actor,
        outcome=payment.status.value,
        resource=f"payment:{payment.id}",
        origin=_origin(payment.channel, payment.session_sid),
        account=account.number,
        amount_cents=payment.amount_cents,
        reason=payment.decline_reason,
    )
    return payment


def mark_unknown(session: Session, payment_id: int, *, wipe: bool = True) -> Payment:
    """The gateway did not answer: leave the row for ``reconcile``, never retry with a new key.

    The card goes too: only the gateway's books can settle the row now, never a second charge
    (``wipe=False``: none was keyed for it)."""
    payment = lock_row(session, Payment, payment_id)
    assert payment is not None
    if payment.status is PaymentStatus.PENDING:
        if wipe:
            _done_with_card(session, payment)
        payment.status = PaymentStatus.UNKNOWN
        audit.record(
            session,
            "payment.unknown",
            actor="system",
            outcome="unknown",
            resource=f"payment:{payment.id}",
            origin=_origin(payment.channel, payment.session_sid),
        )
    return payment
