"""Disputed amounts: recorded with a reference number, held out of what is owed until resolved.

An open dispute's cents are not asked for (``payments.amounts``: the pay menu's full balance
and minimum), not covered by arrangements, not counted toward reconnection, and not charged as
an installment; a caller may still pay them.
The balance itself stays as billed: the billing system credits an upheld dispute, and its next
import is authoritative. Resolving a dispute here only ends the hold.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr import audit, logs
from ivr.models import Account, Dispute, DisputeStatus
from payments.confirmation import new_confirmation_number
from payments.ledger import lock_account, number_taken

log = logging.getLogger("ivr.disputes")


class Scope(StrEnum):
    """What the caller disputed: the whole balance, or an amount they keyed."""

    BALANCE = "balance"
    AMOUNT = "amount"


class DisputeError(Exception):
    """The dispute cannot be recorded or resolved; the message says why."""


def held_cents(session: Session, account_id: int) -> int:
    query = select(func.coalesce(func.sum(Dispute.amount_cents), 0)).where(
        Dispute.account_id == account_id, Dispute.status == DisputeStatus.OPEN
    )
    return int(session.scalar(query) or 0)


def owed_cents(session: Session, account: Account) -> int:
    """The balance less what is in dispute: what the IVR may ask for or arrange."""
    return account.balance_cents - held_cents(session, account.id)


def open_dispute(
    session: Session,
    account_id: int,
    amount_cents: int,
    scope: Scope,
    *,
    channel: str,
    session_sid: str | None,
    actor: str,
    now: dt.datetime,
) -> Dispute:
    """Record a dispute of ``amount_cents`` (at most what is owed and not yet disputed)."""
    account = lock_account(session, account_id)
    disputable = owed_cents(session, account)
    if not 0 < amount_cents <= disputable:
        raise DisputeError(f"account {account.last4}: {max(disputable, 0)} cents can be disputed")
    dispute = Dispute(
        account_id=account.id,
        reference_number=new_confirmation_number(number_taken(session)),
        amount_cents=amount_cents,
        scope=scope.value,
        status=DisputeStatus.OPEN,
        channel=channel,
        session_sid=session_sid,
        created_at=now,
    )
    session.add(dispute)
    session.flush()
    audit.record(
        session,
        "dispute.opened",
        actor=actor,
        outcome="open",
        resource=f"dispute:{dispute.id}",
        origin=f"{channel}:{session_sid}" if session_sid else channel,
        account=account.number,
        amount_cents=amount_cents,
        scope=scope.value,
        reference=dispute.reference_number,
    )
    logs.event(log, "dispute.opened", dispute=dispute.id, amount_cents=amount_cents)
    return dispute


OutcomeNotice = Callable[[Session, Account, Dispute], None]
"""Tells the account holder how their dispute ended, in the resolving transaction (through the
outbox; the caller renders the words, since ``payments/`` speaks no language)."""
NOTE_LENGTH = 500


def _checked_note(note: str | None) -> str | None:
    """The resolver's note as kept: printable, not too long, and never a card number."""
    note = (note or "").strip()
    if not note:
        return None
    if len(note) > NOTE_LENGTH or not note.isprintable():
        raise DisputeError(f"a note is one printable line of at most {NOTE_LENGTH} characters")
    if logs.redact(note) != note:
        raise DisputeError("a note must not hold a card number")
    return note


def resolve(
    session: Session,
    reference: str,
    outcome: DisputeStatus,
    *,
    actor: str,
    now: dt.datetime,
    notify: OutcomeNotice,
    note: str | None = None,
) -> Dispute:
    """End an open dispute's hold: ``credited`` (upheld: the billing system credits it) or
    ``denied``, with the resolver's ``note``; the account holder is told through ``notify``."""
    if outcome is DisputeStatus.OPEN:
        raise DisputeError("a dispute is resolved as credited or denied")
    kept_note = _checked_note(note)
    dispute = session.scalars(
        select(Dispute).where(Dispute.reference_number == reference).with_for_update()
    ).one_or_none()
    if dispute is None:
        raise DisputeError(f"no dispute has reference {reference}")
    if dispute.status is not DisputeStatus.OPEN:
        raise DisputeError(f"dispute {reference} was already resolved as {dispute.status.value}")
    dispute.status, dispute.closed_at, dispute.closed_by = outcome, now, actor
    dispute.closed_note = kept_note
    account = session.get(Account, dispute.account_id)
    assert account is not None  # the foreign key
    audit.record(
        session,
        f"dispute.{outcome.value}",
        actor=actor,
        outcome=outcome.value,
        resource=f"dispute:{dispute.id}",
        account=account.number,
        amount_cents=dispute.amount_cents,
        reference=reference,
        note=kept_note,
    )
    notify(session, account, dispute)
    logs.event(log, f"dispute.{outcome.value}", dispute=dispute.id, by=actor)
    return dispute
