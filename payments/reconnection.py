"""Reconnecting a disconnected account, once it has paid for it.

To reconnect, a disconnected account pays what it owes, less amounts in dispute and payments
still being confirmed, plus the reconnection fee (the fee alone when nothing is owed). The pay
menus offer that first (:mod:`payments.amounts`) and :func:`payments.ledger.begin` accepts it.
Whichever channel or menu choice took it, an approved payment that covers it is a
reconnection: the settle hook :func:`requests` bills the fee (the payment pays it, rather than
leaving it as a credit), writes the :class:`ReconnectionRequest` that the billing system acts
on, audits it and has the customer's notice queued, all in the settling transaction. While
that request is pending, a later payment is only a payment: the fee is never asked twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ivr import audit, logs
from ivr.config import ConfigError, Settings
from ivr.models import (
    Account,
    AccountStatus,
    Conversation,
    PayLink,
    Payment,
    ReconnectionRequest,
    ReconnectionStatus,
    utcnow,
)
from payments.disputes import held_cents
from payments.ledger import OnApproved, in_flight_cents, pending_reconnection

log = logging.getLogger("ivr.reconnection")

Notify = Callable[[Session, Account, ReconnectionRequest], None]
"""Queues the customer's notice in the settling transaction (rendered by the caller, since
``payments/`` speaks no language)."""


@dataclass(frozen=True)
class ReconnectionPolicy:
    """The fee, and how soon service is back once it is paid (see docs/configuration.md)."""

    fee_cents: int
    hours: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ReconnectionPolicy:
        if settings.RECONNECTION_FEE_CENTS < 0 or settings.RECONNECTION_HOURS < 1:
            raise ConfigError(
                "RECONNECTION_FEE_CENTS must be 0 or more, RECONNECTION_HOURS 1 or more."
            )
        return cls(settings.RECONNECTION_FEE_CENTS, settings.RECONNECTION_HOURS)


def _language(session: Session, account: Account, payment: Payment) -> str:
    """The language of the call or text that paid (or of its pay link), else the account's."""
    if payment.session_sid is not None:
        conversation = session.get(Conversation, payment.session_sid)
        if conversation is not None:
            return conversation.language
    link = session.scalar(select(PayLink.language).where(PayLink.payment_id == payment.id))
    return link or account.language


def _covers(session: Session, account: Account, payment: Payment, fee_cents: int) -> bool:
    """Whether ``payment`` (just taken off the balance) paid what reconnecting cost before it."""
    owed = account.balance_cents + payment.amount_cents - held_cents(session, account.id)
    owed -= in_flight_cents(session, account.id)  # others still being confirmed
    return payment.amount_cents >= max(owed, 0) + fee_cents


def _bill_fee(session: Session, account: Account, fee_cents: int) -> None:
    """Add the fee to the balance the payment lowered: one atomic ``UPDATE``, as
    :func:`payments.ledger.take_off_balance` takes payments off."""
    statement = (
        update(Account)
        .where(Account.id == account.id)
        .values(balance_cents=Account.balance_cents + fee_cents)
        .returning(Account)
        .execution_options(populate_existing=True)
    )
    session.scalars(statement).one()


def requests(policy: ReconnectionPolicy, notify: Notify) -> OnApproved:
    """A ``settle`` hook: an approved payment that pays for reconnecting a disconnected
    account (with no request pending) becomes a pending :class:`ReconnectionRequest`."""

    def record(session: Session, account: Account, payment: Payment) -> None:
        if account.status is not AccountStatus.DISCONNECTED:
            return
        if pending_reconnection(session, account.id) is not None:
            return
        if not _covers(session, account, payment, policy.fee_cents):
            return
        session.flush()  # the settled payment goes in before the balance is read back
        _bill_fee(session, account, policy.fee_cents)
        created = utcnow()
        request = ReconnectionRequest(
            account_id=account.id,
            payment_id=payment.id,
            amount_cents=payment.amount_cents,
            fee_cents=policy.fee_cents,
            status=ReconnectionStatus.PENDING,
            language=_language(session, account, payment),
            created_at=created,
            expected_by=created + dt.timedelta(hours=policy.hours),
        )
        session.add(request)
        session.flush()
        origin = f"{payment.channel}:{payment.session_sid or '-'}"
        audit.record(
            session,
            "reconnection.requested",
            actor=origin,
            outcome=ReconnectionStatus.PENDING.value,
            resource=f"reconnection:{request.id}",
            origin=origin,
            account=account.number,
            payment=payment.id,
            amount_cents=payment.amount_cents,
            fee_cents=policy.fee_cents,
        )
        logs.event(log, "reconnection.requested", request=request.id, payment=payment.id)
        notify(session, account, request)

    return record
