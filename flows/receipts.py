"""Where receipts go, and queuing them: shared by every flow that sends one."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ivr import outbox
from ivr.models import Account, Conversation
from prompts import Prompt, render


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
