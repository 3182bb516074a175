"""Dispute outcomes told to the account holder, queued in the transaction that resolved them.

The account holder may not be on a call when the billing team decides, so the outcome goes to
what the account has on file: a text to its first phone that has not texted STOP, and an email
if it has an address, in the account's language, with the reference number the caller was given
and the outcome in the words ``ivr disputes resolve`` uses (upheld and credited, or denied).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ivr import outbox
from ivr.models import Account, Dispute
from payments.confirmation import SPOKEN_GROUPS
from payments.disputes import OutcomeNotice
from prompts import Money, Prompt, SpokenDigits, render


def dispute_outcomes(company: str) -> OutcomeNotice:
    """A :func:`payments.disputes.resolve` hook: ``dispute_<outcome>_sms`` and ``_email``."""

    def queue(session: Session, account: Account, dispute: Dispute) -> None:
        key = f"dispute_{dispute.status.value}"
        params = {
            "company": company,
            "last4": account.last4,
            "amount": Money(dispute.amount_cents),
            "number": SpokenDigits(dispute.reference_number, SPOKEN_GROUPS),
        }

        def words(part: str) -> str:
            return render(Prompt(f"{key}_{part}", params), account.language, "text")

        phones = [p.e164 for p in account.phones if not outbox.opted_out(session, p.e164)]
        if phones:
            outbox.enqueue(session, "sms", phones[0], words("sms"))
        if account.email:
            outbox.enqueue(session, "email", account.email, words("email"), words("subject"))

    return queue
