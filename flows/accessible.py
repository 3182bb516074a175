"""Slower prompts for callers who need more time: relay-service users, people who type their
answers, anyone who asks.

The mode is a flag on the conversation that the voice channel renders (slower speech, longer
time-outs). It turns on by itself for caller IDs in ``RELAY_CALLER_IDS`` (relay services'
outbound numbers), follows the account's saved preference once the caller is verified, and
main-menu 7 switches it and remembers the choice on the account.
"""

from __future__ import annotations

from functools import cache

from flows.context import Context
from flows.data import ConversationData
from ivr.models import Conversation, VoicePreference
from prompts import Prompt
from verification import normalize_phone


def relay_callers(ctx: Context) -> frozenset[str]:
    return _relay_numbers(ctx.settings.RELAY_CALLER_IDS, ctx.settings.DEFAULT_REGION)


@cache
def _relay_numbers(setting: str, region: str) -> frozenset[str]:
    """``RELAY_CALLER_IDS`` in E.164, parsed once per setting rather than on every call."""
    numbers = (normalize_phone(raw, region) for raw in setting.split(","))
    return frozenset(number for number in numbers if number)


def on_greeting(conv: Conversation, ctx: Context) -> None:
    """A relay service calling: slow from the first word."""
    if ctx.caller is not None and ctx.caller in relay_callers(ctx):
        ConversationData(conv).slow = True


def on_verified(conv: Conversation, ctx: Context) -> None:
    """The account's saved preference, if it has one (a relay caller stays slow)."""
    if conv.account_id is None:
        return
    preference = ctx.session.get(VoicePreference, conv.account_id)
    if preference is not None and preference.slow_prompts:
        ConversationData(conv).slow = True


def toggle(conv: Conversation, ctx: Context) -> Prompt:
    """Switch slower prompts for this call and remember the choice on the account."""
    data = ConversationData(conv)
    slow = data.slow = not data.slow
    if conv.account_id is not None:
        preference = ctx.session.get(VoicePreference, conv.account_id, with_for_update=True)
        if preference is None:
            preference = VoicePreference(account_id=conv.account_id)
            ctx.session.add(preference)
        preference.slow_prompts = slow
        preference.updated_at = ctx.now
    return Prompt("slow_prompts_on" if slow else "slow_prompts_off")
