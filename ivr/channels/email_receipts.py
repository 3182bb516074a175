"""Email receipts, queued in the transaction that approves the payment."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ivr import outbox
from ivr.models import Account, Payment
from payments.confirmation import SPOKEN_GROUPS
from payments.ledger import OnApproved
from prompts import Money, Prompt, SpokenDigits, render


def email_receipts(company: str) -> OnApproved:
    """A ``settle`` hook that queues a receipt to the account's email, in its language."""

    def queue(session: Session, account: Account, payment: Payment) -> None:
        if not account.email:
            return
        number = SpokenDigits(payment.confirmation_number or "", SPOKEN_GROUPS)
        paid_with = Prompt(
            "paid_with_card",
            {
                "brand": Prompt(f"brand_{payment.brand or 'card'}"),
                "card_last4": payment.last4 or "",
            },
        )
        body = Prompt(
            "receipt_email_body",
            {
                "amount": Money(payment.amount_cents),
                "last4": account.last4,
                "paid_with": paid_with,
                "number": number,
                "fee": Money(payment.fee_cents),
                "balance": Money(account.balance_cents),
                "company": company,
            },
        )
        subject = Prompt("receipt_email_subject", {"number": number})
        outbox.enqueue(
            session,
            "email",
            account.email,
            render(body, account.language, medium="text"),
            subject=render(subject, account.language, medium="text"),
        )

    return queue
