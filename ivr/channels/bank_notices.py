"""Returned bank debits told to the account holder, queued in the transaction that records
the return: a text to the account's first phone that has not texted STOP, and an email if it
has an address, in the account's language, with the bank's reason in words."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ivr import outbox
from ivr.models import Account, BankDebit, Payment
from payments.bank_debits import ReturnNotice
from prompts import Money, Prompt, render

REASONS = ("R01", "R02", "R03", "R10")  # those with words of their own; others are "other"


def return_notices(company: str) -> ReturnNotice:
    """A :func:`payments.bank_debits.track_all` hook: ``bank_returned_sms``, ``_email``."""

    def queue(session: Session, account: Account, payment: Payment, debit: BankDebit) -> None:
        code = debit.return_code or ""
        reason = Prompt(f"bank_return_{code.lower() if code in REASONS else 'other'}")
        params = {
            "company": company,
            "last4": account.last4,
            "amount": Money(payment.amount_cents),
            "bank_last4": debit.last4,
            "code": code,
            "reason": reason,
            "balance": Money(account.balance_cents),
        }

        def words(part: str) -> str:
            return render(Prompt(f"bank_returned_{part}", params), account.language, "text")

        phones = [p.e164 for p in account.phones if not outbox.opted_out(session, p.e164)]
        if phones:
            outbox.enqueue(session, "sms", phones[0], words("sms"))
        if account.email:
            outbox.enqueue(session, "email", account.email, words("email"), words("subject"))

    return queue
