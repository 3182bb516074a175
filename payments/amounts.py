"""What a caller may pay now, and the facts a caller hears about it: the balance, the part in
dispute, payments still being confirmed, a plan's next installment, and what reconnecting a
disconnected account costs. The balance and pay menus on every channel read them here, so
what is said and what is offered cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ivr.models import Account
from payments.disputes import held_cents
from payments.ledger import in_flight_cents, reconnection_fee_due
from payments.promises import Due, next_due


@dataclass(frozen=True)
class AmountsDue:
    """``full_cents`` is the balance less what is in dispute and less ``confirming_cents``, the
    payments still in flight (pending, or ``unknown`` until reconciled), which may yet be
    approved and which the ledger counts as paid meanwhile; ``minimum_cents`` never exceeds
    it. ``reconnect_fee_cents`` is the fee a disconnected account still has to pay (0 once a
    reconnection request is pending); ``installment`` a plan's next unmet installment."""

    balance_cents: int
    disputed_cents: int
    confirming_cents: int
    full_cents: int
    minimum_cents: int
    reconnect_fee_cents: int = 0
    installment: Due | None = None

    @property
    def reconnect_cents(self) -> int:
        """What reconnecting costs: what is owed (less disputes) plus the fee; 0 if nothing."""
        return self.full_cents + self.reconnect_fee_cents if self.reconnect_fee_cents else 0

    @property
    def with_disputed_cents(self) -> int:
        """Everything on the balance not already being paid, disputed amounts included: what
        a caller may pay of their own accord."""
        return max(self.balance_cents - self.confirming_cents, 0)


def amounts_due(session: Session, account: Account, reconnection_fee_cents: int) -> AmountsDue:
    """The account's amounts now; ``reconnection_fee_cents`` is the setting."""
    confirming = in_flight_cents(session, account.id)
    held = held_cents(session, account.id)
    payable = max(account.balance_cents - held - confirming, 0)
    minimum = max(account.minimum_due_cents - confirming, 0)
    due = next_due(session, account)
    installment = Due(min(due.amount_cents, payable), due.date) if due and payable else None
    return AmountsDue(
        balance_cents=account.balance_cents,
        disputed_cents=held,
        confirming_cents=confirming,
        full_cents=payable,
        minimum_cents=min(minimum, payable),
        reconnect_fee_cents=reconnection_fee_due(session, account, reconnection_fee_cents),
        installment=installment,
    )
