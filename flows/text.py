"""The caller journey by text message, for TTY and relay users and anyone who would rather read.

The same steps as the voice line wherever the conversation is the same (PIN, account detail,
lockout, menu, balance, amounts, arrangements); the text channel swaps in its own steps by
name where it differs:

- ``identify``: the sender's number must be on the account. One account: straight to the
  PIN; several: the account number, which must be one of them; none: a polite refusal.
- ``text_pay_method``: never card numbers by text. A saved card (with consent on file) is
  charged on the sender's word; otherwise a one-time link to the secure pay page.
- ``agent`` and ``payment_receipt``: a number to call, and a confirmation to keep.

Keywords work at any point (:func:`converse`): HELP, STOP and START (carrier rules: after
STOP, nothing is sent until START), MENU, AGENT, and LANG / ESPAÑOL / ENGLISH. Anything shaped
like a card number is answered with a warning and never reaches a step, the session or a log
(at the account prompt, a long account number of the sender's, or one that cannot be a card,
is an answer: :func:`account_number_answer`). The voice line's slower-prompts choice (7) is
not offered by text.
"""

from __future__ import annotations

import unicodedata
from enum import Enum

from sqlalchemy import delete

from flows.arrangement import ARRANGEMENT_STEPS
from flows.assistance import ASSISTANCE_STEPS
from flows.balance import balance_now
from flows.context import Context, phrase, verified_account
from flows.data import CallerData, PaymentData, TextData
from flows.dispute import DISPUTE_STEPS
from flows.engine import (
    DONE,
    Ask,
    Digits,
    Flow,
    Go,
    Hangup,
    Hook,
    Repeat,
    Retry,
    Step,
    Turn,
)
from flows.journey import (
    ACCOUNT_DIGITS,
    EnterAccount,
    EnterDetail,
    EnterPin,
    Locked,
)
from flows.menus import ENGLISH, MENU, SPANISH, TextMenu
from flows.payment import (
    CAPTURE,
    DECLINE_LIMIT,
    Authorizing,
    DeclineLimit,
    EnterAmount,
    PaymentDeclined,
    PayMenu,
    ReconnectionRequested,
    new_pay_link,
    pay_with_saved,
    saved_card,
    total,
)
from ivr.models import Conversation, Payment, TextOptOut
from ivr.outbox import opted_out
from payments.cards import CARD_LIKE, check_number
from payments.confirmation import SPOKEN_GROUPS
from prompts import SpokenDigits
from verification import accounts_for_caller, readable_phone

CHANNEL = "sms"
ACCOUNTS_PER_PHONE = 50  # a landlord's or a family's phone; more is a data problem
PAY_LINK = "text_pay_link"
TEXT_PAY_METHOD = "text_pay_method"
# Steps whose prompt does something (creates a link, moves money): never re-entered by LANG.
_ACTIVE_PROMPTS = frozenset({PAY_LINK, "authorizing", "agent"})


class Identify(Step):
    """Who is texting: only numbers on an account get anywhere."""

    name = "identify"
    goes_to = ("text_choose_account", "enter_pin")

    def prompt(self, conv: Conversation, ctx: Context) -> Turn | Go:
        matches = accounts_for_caller(ctx.session, ctx.caller, limit=ACCOUNTS_PER_PHONE)
        if not matches:
            refusal = phrase("text_not_on_account", company=ctx.settings.COMPANY_NAME)
            return Turn((refusal,), end=Hangup())
        caller = CallerData(conv)
        caller.identified_by = "caller_id"
        if len(matches) > 1:
            return Go("text_choose_account")
        account = matches[0]
        caller.account_number = account.number
        conv.language = account.language
        intro = phrase("text_intro", company=ctx.settings.COMPANY_NAME, last4=account.last4)
        return Go("enter_pin", (intro,))


class ChooseAccount(EnterAccount):
    """The sender's number is on several accounts: which one (it must be one of them)."""

    name = "text_choose_account"

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        outcome = super().on_input(conv, ctx, digits)
        if isinstance(outcome, Retry):
            return outcome
        caller = CallerData(conv)
        if caller.account_number not in senders_accounts(ctx):
            del caller.account_number
            return Retry(phrase("text_account_not_linked"))
        caller.identified_by = "caller_id"  # a failed PIN asks for the PIN again
        return outcome


class AgentByPhone(Step):
    """A representative cannot be dialled into a text: say whom to call."""

    name = "agent"
    goes_to = ("main_menu",)

    def prompt(self, conv: Conversation, ctx: Context) -> Turn | Go:
        number = readable_phone(ctx.settings.AGENT_NUMBER, ctx.settings.DEFAULT_REGION)
        said = phrase("text_agent", number=number)
        if conv.verified:
            return Go("main_menu", (said,))
        return Turn((said,), end=Hangup())


class MenuPause(Step):
    """A reply that leaves the sender at the menu without repeating it: the next answer is a
    menu choice (MENU shows the choices)."""

    goes_to = TextMenu.goes_to

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Repeat | Retry:
        return MAIN_MENU.on_input(conv, ctx, digits)


class Capture(Step):
    """Card details are never taken by text: a saved card or a pay link instead."""

    name = CAPTURE
    goes_to = (TEXT_PAY_METHOD,)

    def prompt(self, conv: Conversation, ctx: Context) -> Go:
        return Go(TEXT_PAY_METHOD)


class PayMethod(Step):
    """A saved card (1), charged on this reply, or a one-time link to the pay page (2)."""

    name = TEXT_PAY_METHOD
    goes_to = (PAY_LINK, "authorizing", DECLINE_LIMIT, "main_menu")

    def prompt(self, conv: Conversation, ctx: Context) -> Turn | Go:
        saved = saved_card(conv, ctx)
        if saved is None:
            return Go(PAY_LINK)
        offer = phrase(
            "text_pay_saved",
            amount=total(conv),
            brand=phrase(f"brand_{saved.brand}"),
            last4=saved.last4,
        )
        return Turn((offer, phrase("text_pay_link_offer")), Ask())

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        if digits == "2":
            return Go(PAY_LINK)
        saved = saved_card(conv, ctx)
        if digits != "1" or saved is None:
            return Retry(phrase("invalid_choice"))
        # One key per inbound message: Twilio's retry of it can never charge again.
        return pay_with_saved(conv, ctx, saved, ctx.origin)


class PayLinkStep(MenuPause):
    """A one-time link to the pay page for the chosen amount, sent in this reply."""

    name = PAY_LINK

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        link, url = new_pay_link(conv, ctx, conv.caller)
        TextData(conv).paylink_sent = link.id
        minutes = ctx.settings.PAYLINK_TTL_MINUTES
        sent = phrase("text_paylink_sent", amount=total(conv), url=url, minutes=minutes)
        return Turn((sent, phrase("text_menu_hint")), Ask())


class PaymentReceipt(MenuPause):
    """The confirmation number and the new balance: the reply is the receipt."""

    name = "payment_receipt"

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        payment = ctx.session.get(Payment, PaymentData(conv).payment_id)
        assert payment is not None and payment.confirmation_number is not None
        return Turn(
            (
                phrase(
                    "confirmation_number",
                    number=SpokenDigits(payment.confirmation_number, SPOKEN_GROUPS),
                ),
                balance_now(verified_account(conv).balance_cents),
                phrase("text_menu_hint"),
            ),
            Ask(),
        )


MAIN_MENU = TextMenu()

TEXT_FLOW = Flow(
    [
        Identify(),
        ChooseAccount(),
        EnterPin(),
        EnterDetail(ChooseAccount.name, MENU),
        Locked(),
        MAIN_MENU,
        AgentByPhone(),
        PayMenu(),
        EnterAmount(),
        Capture(),
        PayMethod(),
        PayLinkStep(),
        Authorizing(with_agent=False),
        PaymentReceipt(),
        ReconnectionRequested(),
        PaymentDeclined(),
        DeclineLimit(),
        *ARRANGEMENT_STEPS,
        *DISPUTE_STEPS,
        *ASSISTANCE_STEPS,
    ],
    start="identify",
    name="text",
    entries=("agent", "main_menu"),  # the AGENT and MENU keywords
    person=Hook("zero", lambda conv, ctx: Go("agent"), goes_to=("agent",)),  # 0, as AGENT
)


class Keyword(Enum):
    HELP = "help"
    STOP = "stop"
    START = "start"
    MENU = "menu"
    AGENT = "agent"
    LANGUAGE = "language"
    SPANISH = "spanish"
    ENGLISH = "english"


# Carrier opt-out and opt-in words (CTIA), and ours in both languages.
_KEYWORDS = {
    **dict.fromkeys(("HELP", "INFO", "AYUDA"), Keyword.HELP),
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"), Keyword.STOP),
    **dict.fromkeys(("START", "UNSTOP", "YES"), Keyword.START),
    **dict.fromkeys(("MENU", "MENÚ"), Keyword.MENU),
    **dict.fromkeys(("AGENT", "AGENTE", "REPRESENTATIVE", "REPRESENTANTE"), Keyword.AGENT),
    **dict.fromkeys(("LANG", "LANGUAGE", "IDIOMA"), Keyword.LANGUAGE),
    **dict.fromkeys(("ESPAÑOL", "ESPANOL", "SPANISH"), Keyword.SPANISH),
    **dict.fromkeys(("ENGLISH", "INGLES", "INGLÉS"), Keyword.ENGLISH),
}


def keyword_of(body: str) -> Keyword | None:
    """The keyword a whole message is, ignoring case, spaces and trailing punctuation."""
    word = unicodedata.normalize("NFC", body).strip().strip(".!?¡¿").strip().upper()
    return _KEYWORDS.get(word)


def looks_like_card(body: str) -> bool:
    """13 or more digits in a run (spaces or dashes allowed): never kept, whatever it is."""
    return CARD_LIKE.search(body) is not None


def account_number_answer(conv: Conversation, ctx: Context, body: str) -> bool:
    """A long run of digits that is an account number, not a card: only at the account
    prompt, and only if it is one of the sender's accounts or cannot be a card (fails the
    Luhn check, no card brand, or the wrong length for its brand)."""
    if conv.state != ChooseAccount.name:
        return False
    digits = keys_from(body)
    low, high = ACCOUNT_DIGITS
    if not (digits.isascii() and digits.isdigit() and low <= len(digits) <= high):
        return False
    return digits in senders_accounts(ctx) or check_number(digits).error is not None


def senders_accounts(ctx: Context) -> set[str]:
    """The account numbers on the sender's phone: the only ones a text may name."""
    return {a.number for a in accounts_for_caller(ctx.session, ctx.caller, ACCOUNTS_PER_PHONE)}


def keys_from(body: str) -> str:
    """A text answer as the keypad would have sent it: ``$25.50`` is ``25*50``, ``03/05`` is
    ``0305``, ``1234 5678`` is ``12345678``."""
    kept = "".join(ch for ch in body.strip() if ch not in " \t\r\n-/,$")
    return kept.replace(".", "*")


def forget(conv: Conversation) -> None:
    """Start from nothing: whoever texts next proves who they are again."""
    conv.state, conv.data, conv.account_id, conv.verified = "new", {}, None, False
    conv.account = None


def _begin(conv: Conversation, ctx: Context) -> Turn:
    forget(conv)
    return TEXT_FLOW.start(conv, ctx)


def _language_turn(conv: Conversation, ctx: Context, language: str | None) -> Turn:
    if language is None:
        language = ENGLISH if conv.language == SPANISH else SPANISH
    conv.language = language
    if conv.state == "new":
        return _begin(conv, ctx)
    if conv.state in _ACTIVE_PROMPTS:
        return TEXT_FLOW.start(conv, ctx, "main_menu" if conv.verified else None)
    return TEXT_FLOW.start(conv, ctx, conv.state)


def converse(conv: Conversation, ctx: Context, body: str) -> Turn | None:
    """The reply to one text (``None``: send nothing, the sender has opted out).

    ``conv`` is fresh (state ``new``) when the sender has no conversation going; the first
    message then only starts one, unless it is a keyword.
    """
    phone = ctx.caller or ""
    word = keyword_of(body)
    company = ctx.settings.COMPANY_NAME
    if word is Keyword.STOP:
        if not opted_out(ctx.session, phone):
            ctx.session.add(TextOptOut(phone=phone, opted_out_at=ctx.now))
        forget(conv)
        conv.state = DONE
        return Turn((phrase("text_stopped", company=company),), end=Hangup())
    if word is Keyword.START:
        ctx.session.execute(delete(TextOptOut).where(TextOptOut.phone == phone))
        turn = _begin(conv, ctx)
        return Turn((phrase("text_started", company=company), *turn.say), turn.ask, turn.end)
    if opted_out(ctx.session, phone):
        return None
    if looks_like_card(body) and not account_number_answer(conv, ctx, body):
        return Turn((phrase("text_card_warning"),), Ask())
    if conv.state in (DONE, "new"):
        forget(conv)  # whatever comes next, an ended conversation proves nothing any more
    if word is Keyword.HELP:
        return Turn((phrase("text_help", company=company),), Ask())
    if word in (Keyword.LANGUAGE, Keyword.SPANISH, Keyword.ENGLISH):
        choice = {Keyword.SPANISH: SPANISH, Keyword.ENGLISH: ENGLISH}.get(word)
        return _language_turn(conv, ctx, choice)
    if word is Keyword.AGENT:
        return TEXT_FLOW.start(conv, ctx, "agent")
    if conv.state == "new":
        return _begin(conv, ctx)
    if word is Keyword.MENU:
        return TEXT_FLOW.start(conv, ctx, "main_menu") if conv.verified else _begin(conv, ctx)
    return TEXT_FLOW.handle(conv, ctx, Digits(keys_from(body)))


def paylink_sent(conv: Conversation) -> int | None:
    """The pay link this reply carries, if any (the channel stores the reply without it)."""
    data = TextData(conv)
    link_id = data.paylink_sent
    del data.paylink_sent
    return int(link_id) if link_id is not None else None
