"""Email receipts for payments nobody was asked about, queued in the transaction that
approves the payment.

A caller on the phone is offered the email at the confirmation number and it goes only if they
ask (:class:`flows.payment.PaymentReceipt`); every other payment (by text, on the pay page, a
scheduled installment) is emailed here, in the language of the conversation or link that made
it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from flows.receipts import email_receipt
from ivr.models import Account, Conversation, Payment
from payments import paylinks
from payments.ledger import OnApproved

ASKED_FOR = frozenset({"voice"})  # channels whose receipt is emailed only on request


def _language(session: Session, account: Account, payment: Payment) -> str:
    """The language of the conversation or pay link the payment came from, else the account's."""
    if payment.session_sid is not None:
        conv = session.get(Conversation, payment.session_sid)
        if conv is not None:
            return conv.language
        link = paylinks.for_session(session, payment.session_sid)
        if link is not None:
            return link.language
    return account.language


def email_receipts(company: str) -> OnApproved:
    """A ``settle`` hook that queues a receipt to the account's email."""

    def queue(session: Session, account: Account, payment: Payment) -> None:
        if payment.channel in ASKED_FOR:
            return
        email_receipt(session, company, account, payment, _language(session, account, payment))

    return queue
