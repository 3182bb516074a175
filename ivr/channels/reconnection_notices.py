"""Reconnection notices: what happens next and by when, by text and email, in the language of
the call or text that paid for it, queued in the transaction that recorded the request."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ivr import outbox
from ivr.models import Account, Conversation, Payment, ReconnectionRequest
from payments.reconnection import Notify
from prompts import Money, Prompt, SpokenDate, render


def _phone(session: Session, account: Account, payment: Payment | None) -> str | None:
    """The account's phone that paid (a call or text from it), else its first; never one that
    texted STOP."""
    phones = [p.e164 for p in account.phones if not outbox.opted_out(session, p.e164)]
    sid = payment.session_sid if payment else None
    paying = session.get(Conversation, sid) if sid else None
    if paying is not None and paying.caller in phones:
        return paying.caller
    return phones[0] if phones else None


def reconnection_notices(company: str, hours: int) -> Notify:
    """A ``payments.reconnection`` hook that texts and emails the account holder."""

    def queue(session: Session, account: Account, request: ReconnectionRequest) -> None:
        params = {
            "company": company,
            "last4": account.last4,
            "amount": Money(request.amount_cents),
            "fee": Money(request.fee_cents),
            "hours": hours,
            "date": SpokenDate(account.local_date(request.expected_by)),
        }

        def text(key: str) -> str:
            return render(Prompt(key, params), request.language, "text")

        phone = _phone(session, account, session.get(Payment, request.payment_id))
        if phone:
            outbox.enqueue(session, "sms", phone, text("reconnection_notice_sms"))
        if account.email:
            subject = text("reconnection_notice_subject")
            outbox.enqueue(
                session, "email", account.email, text("reconnection_notice_email"), subject=subject
            )

    return queue
