"""Arrangement notices (reminders, failed charges, kept and broken promises), queued by text and
email in the account's language, in the transaction that decided them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ivr import outbox
from ivr.models import Account, Arrangement
from payments.confirmation import SPOKEN_GROUPS
from payments.promises import Notice, NoticeKind, Notify
from prompts import Money, Prompt, SpokenDate, SpokenDigits, render


def _body(notice: Notice) -> str:
    if notice.kind is NoticeKind.REMINDER:
        return "promise_reminder_card" if notice.card_last4 else "promise_reminder_self"
    return f"promise_{notice.kind.value}"


def promise_notices(company: str) -> Notify:
    """A ``payments.promises`` hook that texts the account's first phone and emails it."""

    def queue(session: Session, account: Account, arrangement: Arrangement, notice: Notice) -> None:
        params = {
            "company": company,
            "last4": account.last4,
            "amount": Money(notice.amount_cents),
            "date": SpokenDate(notice.date),
            "card_last4": notice.card_last4 or "",
            "number": SpokenDigits(arrangement.confirmation_number, SPOKEN_GROUPS),
        }
        body = render(Prompt(_body(notice), params), account.language, "text")
        if account.phones:
            outbox.enqueue(session, "sms", account.phones[0].e164, body)
        if account.email:
            subject = render(Prompt("promise_subject", params), account.language, "text")
            outbox.enqueue(session, "email", account.email, body, subject=subject)

    return queue
