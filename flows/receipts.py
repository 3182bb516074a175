"""Where receipts go: shared by every flow that sends one."""

from __future__ import annotations

from ivr.models import Account, CallSession


def text_recipient(conv: CallSession, account: Account) -> str | None:
    """The account's phone the caller is on, else its first phone; never a number that is not
    on the account, since a receipt names the account and its balance."""
    phones = [phone.e164 for phone in account.phones]
    if not phones:
        return None
    return conv.caller if conv.caller in phones else phones[0]
