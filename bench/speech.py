"""What a caller hears and keys, in seconds: the model behind paced callers and time-to-pay.

Speech time is the words of every ``<Say>`` at a stated rate (digits read one by one count as
words, as text-to-speech reads them); keying is a reaction time plus a time per key.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

WORDS_PER_MINUTE = 150
REACTION_S = 1.0  # from the end of a prompt to the first key
PER_KEY_S = 0.3
DEFAULT_GATHER_TIMEOUT_S = 5.0  # Twilio's default, when a <Gather> sets none


def words(text: str) -> int:
    return len(text.split())


def seconds_of(word_count: int) -> float:
    return word_count * 60 / WORDS_PER_MINUTE


def said(twiml: str) -> list[str]:
    """Every ``<Say>`` of a TwiML document, in the order a caller hears them."""
    root = ET.fromstring(twiml)  # noqa: S314 - TwiML from the server under test
    return [(say.text or "").strip() for say in root.iter("Say")]


def keying_seconds(keys: str) -> float:
    return REACTION_S + PER_KEY_S * len(keys)


def pause_before(previous_twiml: str, form: dict[str, str]) -> float:
    """How long a person takes between the previous answer and this webhook: the prompt is
    spoken, then keys are pressed, or, with no keys, the ``<Gather>`` times out."""
    root = ET.fromstring(previous_twiml)  # noqa: S314 - TwiML from the server under test
    spoken = seconds_of(sum(words(say.text or "") for say in root.iter("Say")))
    if "Digits" in form:
        return spoken + keying_seconds(form["Digits"])
    gather = root.find("Gather")
    if gather is None:
        return spoken
    return spoken + float(gather.get("timeout", DEFAULT_GATHER_TIMEOUT_S))
