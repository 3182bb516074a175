"""The scripted presses (and texts) that take Ada to the usual places, one copy for the suite.

A voice script lists what the caller keys at each prompt, ``""`` being silence (see
``ivr.simulator.emulator.ScriptedKeys``); a text script lists the messages sent.
"""

from __future__ import annotations

from tests.support.card_scan import CODE

VISA = "4242424242424242"

# English by silence, "1: yes, the account ending in 0001" (her caller ID), PIN and #, ZIP.
VERIFY = ["", "1", "1234#", "94105"]
VERIFY_IN_SPANISH = ["9", *VERIFY[1:]]
VERIFY_BY_NUMBER = ["", "70000001#", "1234#", "94105"]  # as a caller ID on no account must
PAY_FULL = [*VERIFY, "1"]  # "your balance is ...; to pay it now, press 1"
MENU = [*VERIFY, "2"]  # "for anything else, 2": past the pay offer, to the main menu
PAY_MENU = [*MENU, "1"]  # main menu 1: the amounts to pay
BALANCE = [*MENU, "2"]  # main menu 2: the balance and the last payment
ARRANGE = [*MENU, "3"]
OTHER_CHOICES = [*MENU, "4"]
DISPUTE = [*OTHER_CHOICES, "1"]
ASSISTANCE = [*OTHER_CHOICES, "2"]
SLOWER_PROMPTS = [*OTHER_CHOICES, "3"]
SAVED_CARDS = [*OTHER_CHOICES, "4"]


def in_spanish(script: list[str]) -> list[str]:
    """``script`` with 9 (Spanish) pressed at the greeting."""
    return ["9", *script[1:]]


TEXT_VERIFY = ("hi", "1234", "94105")  # any first text, then PIN, then ZIP
TEXT_BALANCE = (*TEXT_VERIFY, "1")  # text menu 1: the balance
TEXT_PAY = (*TEXT_VERIFY, "2")  # text menu 2: the pay menu


def card(
    number: str = VISA, expiry: str = "1230", code: str = CODE, postal: str = "94105"
) -> list[str]:
    """A card's fields as keyed: the number and #, expiry MMYY, security code, billing ZIP."""
    return [f"{number}#", expiry, code, postal]


def paying(number: str = VISA) -> list[str]:
    """The full balance paid by ``number``: ``PAY_FULL``, the card, and 1 to confirm."""
    return [*PAY_FULL, *card(number), "1"]


def posted(script: list[str]) -> list[str]:
    """The ``Digits`` Twilio posts for ``script``'s presses (the finish key is not sent), for
    tests that post the webhooks themselves."""
    return [keys.removesuffix("#") for keys in script]
