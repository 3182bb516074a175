"""The caller's saved cards by phone: each one read out, and any of them removed.

Removing withdraws the consent given when the card was saved (:func:`payments.methods.remove`):
the row stays, audited, and the card is never offered or charged again.
"""

from __future__ import annotations

from flows.context import Context, phrase, verified_account
from flows.engine import Ask, Go, Retry, Step, Turn
from ivr.models import Conversation, PaymentMethod
from payments import methods
from prompts import Prompt, SpokenDigits

SAVED_CARDS = "saved_cards"
MOST_READ = 8  # keys 1 to 8: 9 switches language and 0 is a person everywhere


def _card(method: PaymentMethod) -> dict[str, Prompt | SpokenDigits]:
    return {"brand": phrase(f"brand_{method.brand}"), "last4": SpokenDigits(method.last4)}


class SavedCards(Step):
    """Each active saved card, newest consent first, with the key that removes it."""

    name = SAVED_CARDS
    goes_to = ("main_menu",)

    def _cards(self, conv: Conversation, ctx: Context) -> list[PaymentMethod]:
        return methods.active(ctx.session, verified_account(conv).id)[:MOST_READ]

    def prompt(self, conv: Conversation, ctx: Context) -> Turn | Go:
        cards = self._cards(conv, ctx)
        if not cards:
            return Go("main_menu", (phrase("saved_cards_none"),))
        said = [
            phrase("saved_card_item", **_card(method), digit=n)
            for n, method in enumerate(cards, start=1)
        ]
        return Turn((*said, phrase("saved_cards_end")), Ask())

    def on_input(self, conv: Conversation, ctx: Context, digits: str) -> Go | Retry:
        if digits == "*":
            return Go("main_menu")
        cards = self._cards(conv, ctx)
        if not (digits.isdigit() and 1 <= int(digits) <= len(cards)):
            return Retry(phrase("invalid_choice"))
        chosen = cards[int(digits) - 1]
        actor = f"{conv.channel}:{conv.sid}"
        methods.remove(ctx.session, chosen.account_id, chosen.id, actor=actor, now=ctx.now)
        return Go("main_menu", (phrase("saved_card_removed", **_card(chosen)),))


SAVED_CARDS_STEPS: tuple[Step, ...] = (SavedCards(),)
