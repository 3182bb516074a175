"""What the balance says, on every channel: one fact a sentence, most pressing first; and
the last payment.

A disconnected account hears that first, and what reconnecting costs or when service comes
back; a plan's next installment comes before the balance (the bill's own due date and minimum
no longer apply); an amount in dispute is said apart from the balance, with what is payable
once it is held out. Every figure comes from :mod:`payments.amounts`, as the pay menu's do.
"""

from __future__ import annotations

import datetime as dt

from flows.context import Context, phrase
from ivr.models import Account, AccountStatus
from payments.amounts import AmountsDue, amounts_due
from payments.ledger import last_approved_payment, pending_reconnection
from prompts import Money, Prompt, SpokenDate, SpokenDigits


def due_now(ctx: Context, account: Account) -> AmountsDue:
    """The account's amounts, with the configured reconnection fee."""
    return amounts_due(ctx.session, account, ctx.settings.RECONNECTION_FEE_CENTS)


def reconnection_prompts(ctx: Context, account: Account, due: AmountsDue) -> tuple[Prompt, ...]:
    """For a disconnected account: that it is, and what reconnecting costs or when it is done."""
    if account.status is not AccountStatus.DISCONNECTED:
        return ()
    said = phrase("balance_disconnected")
    if due.reconnect_fee_cents:
        fee = Money(due.reconnect_fee_cents)
        if due.full_cents:
            cost = phrase("reconnect_cost", amount=Money(due.reconnect_cents), fee=fee)
        else:
            cost = phrase("reconnect_cost_fee_only", fee=fee)
        return (said, cost)
    request = pending_reconnection(ctx.session, account.id)
    if request is None:  # nothing to pay: a fee of 0
        return (said,)
    back = SpokenDate(account.local_date(request.expected_by))
    return (said, phrase("reconnect_pending", hours=ctx.settings.RECONNECTION_HOURS, date=back))


def _balance(account: Account, plan: bool, today: dt.date) -> Prompt:
    cents = account.balance_cents
    if cents == 0:
        return phrase("no_balance")
    if cents < 0:
        return phrase("balance_credit", amount=Money(-cents))
    if account.due_date and not plan:
        key = "balance_past_due" if account.due_date < today else "balance"
        return phrase(key, amount=Money(cents), date=SpokenDate(account.due_date))
    return phrase("balance_no_date", amount=Money(cents))


def balance_prompts(ctx: Context, account: Account) -> tuple[Prompt, ...]:
    """The balance as separate facts: service, plan, balance, disputed part, what is payable."""
    due = due_now(ctx, account)
    plan = due.installment
    said = [*reconnection_prompts(ctx, account, due)]
    if plan is not None:
        amount, date = Money(plan.amount_cents), SpokenDate(plan.date)
        said.append(phrase("balance_installment", amount=amount, date=date))
    said.append(_balance(account, plan is not None, account.local_date(ctx.now)))
    owed = account.balance_cents - due.disputed_cents
    if due.disputed_cents > 0:
        said.append(phrase("balance_disputed", amount=Money(due.disputed_cents)))
        said.append(
            phrase("balance_payable", amount=Money(owed))
            if owed > 0
            else phrase("balance_nothing_payable")
        )
    minimum = min(account.minimum_due_cents, owed)
    if plan is None and 0 < minimum < owed:
        said.append(phrase("minimum_due", amount=Money(minimum)))
    return tuple(said)


def balance_now(cents: int) -> Prompt:
    """The balance after a payment: "no balance due" rather than "0 dollars" (a negative one
    is spoken as a credit)."""
    return phrase("new_balance", amount=Money(cents)) if cents else phrase("new_balance_none")


def last_payment_prompts(ctx: Context, account: Account) -> tuple[Prompt, ...]:
    payment = last_approved_payment(ctx.session, account.id)
    if payment is None or payment.confirmation_number is None:
        return (phrase("no_payments"),)
    return (
        phrase(
            "last_payment",
            amount=Money(payment.amount_cents),
            date=SpokenDate(account.local_date(payment.created_at)),
            number=SpokenDigits(payment.confirmation_number, (3, 3, 4)),
        ),
    )
