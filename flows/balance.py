"""What a customer hears of their account: the balance and due date, and the last payment."""

from __future__ import annotations

from flows.context import Context, phrase
from ivr.models import Account
from payments.ledger import last_approved_payment
from prompts import Money, Prompt, SpokenDate, SpokenDigits


def balance_prompts(account: Account) -> tuple[Prompt, ...]:
    if account.balance_cents <= 0:
        return (phrase("no_balance"),)
    amount = Money(account.balance_cents)
    said = (
        phrase("balance", amount=amount, date=SpokenDate(account.due_date))
        if account.due_date
        else phrase("balance_no_date", amount=amount)
    )
    if 0 < account.minimum_due_cents < account.balance_cents:
        return (said, phrase("minimum_due", amount=Money(account.minimum_due_cents)))
    return (said,)


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
