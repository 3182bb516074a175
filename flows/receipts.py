"""Where receipts go, what a payment's receipt says, and queuing them: shared by every flow
(and channel) that sends one."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ivr import outbox
from ivr.models import Account, Conversation, Payment
from payments.confirmation import SPOKEN_GROUPS
from prompts import Money, Prompt, SpokenDate, SpokenDigits, render


def text_recipient(session: Session, conv: Conversation, account: Account) -> str | None:
    """The account's phone the caller is on, else its first phone; never a number that is not
    on the account, since a receipt names the account and its balance, nor one that texted
    STOP."""
    phones = [phone.e164 for phone in account.phones if not outbox.opted_out(session, phone.e164)]
    if not phones:
        return None
    return conv.caller if conv.caller in phones else phones[0]


def recipients(
    session: Session, conv: Conversation, account: Account
) -> list[tuple[outbox.Channel, str]]:
    """A text (see :func:`text_recipient`), and an email if one is on file."""
    found: list[tuple[outbox.Channel, str]] = []
    phone = text_recipient(session, conv, account)
    if phone:
        found.append(("sms", phone))
    if account.email:
        found.append(("email", account.email))
    return found


def send_receipts(
    session: Session, conv: Conversation, account: Account, key: str, params: dict[str, Any]
) -> int:
    """Queue ``KEY_sms`` and ``KEY_email`` (subject ``KEY_subject``) in the caller's language,
    to each of :func:`recipients`; returns how many were queued."""
    sent = recipients(session, conv, account)
    for channel, recipient in sent:
        body = render(Prompt(f"{key}_{channel}", params), conv.language, "text")
        subject = None
        if channel == "email":
            subject = render(Prompt(f"{key}_subject", params), conv.language, "text")
        outbox.enqueue(session, channel, recipient, body, subject=subject)
    return len(sent)


def masked_email(address: str) -> str:
    """An email address as a receipt offer says it aloud: its first letter and its domain
    (``a…@example.com``), enough to recognise without reading it out."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}"


def paid_at(account: Account, moment: dt.datetime) -> Prompt:
    """The date and time of ``moment`` where the customer lives, with the zone's name, as a
    receipt prints it."""
    local = moment.astimezone(ZoneInfo(account.time_zone))
    time = Prompt(
        "receipt_time",
        {
            "hour": local.hour % 12 or 12,
            "minute": f"{local.minute:02d}",
            "meridiem": Prompt("time_am" if local.hour < 12 else "time_pm"),
            "zone": local.tzname() or account.time_zone,
        },
    )
    return Prompt("receipt_paid_at", {"date": SpokenDate(local.date()), "time": time})


def payment_receipt(key: str, company: str, account: Account, payment: Payment) -> Prompt:
    """A payment's receipt (``receipt_sms`` or ``receipt_email_body``): when it was paid, the
    amount, the fee and the total charged, the card as masked, the confirmation number and the
    balance after it."""
    return Prompt(
        key,
        {
            "company": company,
            "last4": account.last4,
            "paid_at": paid_at(account, payment.created_at),
            "amount": Money(payment.amount_cents),
            "fee": Money(payment.fee_cents),
            "total": Money(payment.amount_cents + payment.fee_cents),
            "paid_with": Prompt(
                "paid_with_card",
                {
                    "brand": Prompt(f"brand_{payment.brand or 'card'}"),
                    "card_last4": payment.last4 or "",
                },
            ),
            "number": SpokenDigits(payment.confirmation_number or "", SPOKEN_GROUPS),
            "balance": Money(account.balance_cents),
        },
    )


def email_receipt(
    session: Session, company: str, account: Account, payment: Payment, language: str
) -> str | None:
    """Queue the payment's receipt to the account's email in ``language`` (the conversation's
    that paid); returns the address, or ``None`` when the account has none."""
    if not account.email:
        return None
    body = payment_receipt("receipt_email_body", company, account, payment)
    number = SpokenDigits(payment.confirmation_number or "", SPOKEN_GROUPS)
    subject = Prompt("receipt_email_subject", {"number": number})
    outbox.enqueue(
        session,
        "email",
        account.email,
        render(body, language, medium="text"),
        subject=render(subject, language, medium="text"),
    )
    return account.email
