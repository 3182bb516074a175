"""The menus a verified customer chooses from, per channel (DESIGN.md journey step 3).

A choice is named once (:data:`CHOICES`), whatever key a channel gives it. The phone's main menu
holds four choices, pay first, plus 0 for a person and * to hear it again; the rest wait behind
"other choices", because callers abandon long menus. A caller with something to pay hears the
amount and "to pay it now, press 1" before any menu. The menu is read in full once; after an
answer the caller hears a short "anything else?" with the same keys live, and silence there
ends the call politely. 9 at a phone menu switches language. A text is read at a glance, so
the text menu lists every choice that means something in a text, with its own keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from flows import accessible
from flows.balance import balance_prompts, due_now, last_payment_prompts, reconnection_prompts
from flows.context import Context, phrase, verified_account
from flows.data import CallerData, ConversationData, MenuData
from flows.engine import Ask, Finish, Go, Repeat, Retry, Step, Turn, goodbye
from flows.payment import STARTS_CAPTURE, Offer, choose_amount, pay_offers
from flows.saved_cards import SAVED_CARDS
from ivr.models import Conversation
from payments.amounts import AmountsDue
from prompts import Prompt

SPANISH = "es-US"
ENGLISH = "en-US"
LANGUAGE_KEY = "9"
MENU = "main_menu"
OTHER_CHOICES = "other_choices"
PAY_OFFER = "pay_offer"


@dataclass(frozen=True)
class Choice:
    """What choosing does (``run``), and every state it may lead to."""

    run: Callable[[Conversation, Context], Go]
    goes_to: tuple[str, ...]


def _move(state: str) -> Choice:
    return Choice(lambda conv, ctx: Go(state), (state,))


def _answer(*parts: Callable[[Conversation, Context], tuple[Prompt, ...]]) -> Choice:
    """A choice answered at once, back at the menu."""

    def run(conv: Conversation, ctx: Context) -> Go:
        return Go(MENU, tuple(prompt for part in parts for prompt in part(conv, ctx)))

    return Choice(run, (MENU,))


def _balance(conv: Conversation, ctx: Context) -> tuple[Prompt, ...]:
    return balance_prompts(ctx, verified_account(conv))


def _last_payment(conv: Conversation, ctx: Context) -> tuple[Prompt, ...]:
    return last_payment_prompts(ctx, verified_account(conv))


def _slower(conv: Conversation, ctx: Context) -> tuple[Prompt, ...]:
    return (accessible.toggle(conv, ctx),)


CHOICES: Mapping[str, Choice] = {
    "pay": _move("pay_menu"),
    "balance": _answer(_balance),
    "balance_and_last_payment": _answer(_balance, _last_payment),
    "last_payment": _answer(_last_payment),
    "more_time": _move("arrangement_offer"),
    "dispute": _move("dispute_menu"),
    "help_paying": _move("assistance_programs"),
    "slower_prompts": _answer(_slower),
    "saved_cards": _move(SAVED_CARDS),
    "other_choices": _move(OTHER_CHOICES),
    "agent": _move("agent"),
}


def switch_language(conv: Conversation) -> Repeat:
    """English to Spanish or back; the question is asked again in the new language, which the
    rest of the call (and what it sends) keeps."""
    conv.language = ENGLISH if conv.language == SPANISH else SPANISH
    CallerData(conv).language_chosen = True
    return Repeat()


class Menu(Step):
    """Keys to choices; subclasses name the keys and what the menu says."""

    keys: ClassVar[Mapping[str, str]]
    back: ClassVar[str | None] = None  # where * goes; None: the menu again, in full
    languages: ClassVar[bool] = False  # whether 9 switches language

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        targets = {target for choice in cls.keys.values() for target in CHOICES[choice].goes_to}
        cls.goes_to = tuple(sorted(targets | {"identify", cls.back or cls.name}))

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Repeat | Retry:
        if conv.account is None:  # the conversation outlived its account (a fresh import)
            return Go("identify")
        if digits in self.keys:
            return CHOICES[self.keys[digits]].run(conv, ctx)
        if digits == "*":
            return Go(self.back or self.name)
        if digits == LANGUAGE_KEY and self.languages:
            return switch_language(conv)
        return Retry(phrase("invalid_choice"))


class MainMenu(Menu):
    """The phone's main menu: in full the first time and when asked (*), "anything else?"
    after an answer."""

    name = MENU
    keys = {
        "1": "pay",
        "2": "balance_and_last_payment",
        "3": "more_time",
        "4": "other_choices",
        "0": "agent",
    }
    languages = True

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        menu = MenuData(conv)
        menu.short = menu.heard and ConversationData(conv).answered
        if menu.short:
            return Turn((phrase("anything_else"),), Ask())
        said = [phrase("main_menu")]
        if not menu.heard:  # once a call: the same service by text, and for TTY through 711
            said.append(phrase("other_channels"))
        menu.heard = True
        return Turn(tuple(said), Ask())

    def on_no_input(self, conv: Conversation, ctx: Context) -> Finish | None:
        """Silence after "anything else?" is a caller who is done."""
        return goodbye(phrase("goodbye")) if MenuData(conv).short else None


class OtherChoices(Menu):
    name = OTHER_CHOICES
    keys = {
        "1": "dispute",
        "2": "help_paying",
        "3": "slower_prompts",
        "4": "saved_cards",
        "0": "agent",
    }
    back = MENU
    languages = True

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        other = ENGLISH if conv.language == SPANISH else SPANISH
        offer = Prompt("switch_language", language=other)  # said in the language it offers
        return Turn((phrase("other_choices_menu"), offer), Ask())


class TextMenu(Menu):
    """Every choice that means something in a text, with the keys texters already know;
    slower prompts are a voice setting, so the text menu has none."""

    name = MENU
    keys = {
        "1": "balance",
        "2": "pay",
        "3": "more_time",
        "4": "last_payment",
        "5": "dispute",
        "6": "help_paying",
        "0": "agent",
    }

    def prompt(self, conv: Conversation, ctx: Context) -> Turn:
        return Turn((phrase("main_menu"),), Ask())


class PayOffer(Step):
    """Before the menu, for a caller with something to pay: the pay menu's first offer and "to
    pay it now, press 1", the most common reason to call, one key away. An amount wholly in
    dispute is not pressed on anyone: it waits in the pay menu."""

    name = PAY_OFFER
    goes_to = (MENU, "agent", *STARTS_CAPTURE)

    def prompt(self, conv: Conversation, ctx: Context) -> Turn | Go:
        account = verified_account(conv)
        due = due_now(ctx, account)
        offer = _first_offer(due)
        if offer is None:
            return Go(MENU)
        if offer.key != "pay_menu_full":  # a reconnection, a plan's installment, a payment in doubt
            said = (
                *reconnection_prompts(ctx, account, due)[:1],
                phrase(offer.key, **offer.params, digit=1),
                phrase("pay_offer_else"),
            )
            return Turn(said, Ask())
        # The balance as its facts (the minimum waits in the pay menu: "it" is one amount).
        facts = [p for p in balance_prompts(ctx, account) if p.key != "minimum_due"]
        return Turn((*facts, phrase("pay_now_offer")), Ask())

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Repeat | Retry:
        offer = _first_offer(due_now(ctx, verified_account(conv)))
        if digits == "1" and offer is not None:
            return choose_amount(conv, ctx, offer.cents)
        if digits in ("1", "2"):
            return Go(MENU)
        if digits == "0":
            return Go("agent")
        if digits == "*":
            return Repeat()
        if digits == LANGUAGE_KEY:
            return switch_language(conv)
        return Retry(phrase("invalid_choice"))

    def on_no_input(self, conv: Conversation, ctx: Context) -> Go:
        return Go(MENU)


def _first_offer(due: AmountsDue) -> Offer | None:
    offers = pay_offers(due)
    if not offers or offers[0].key == "pay_menu_disputed":
        return None
    return offers[0]


MENU_STEPS: tuple[Step, ...] = (PayOffer(), MainMenu(), OtherChoices())
