"""Message catalogs: one module per language, each a flat ``MESSAGES`` dict.

Every language must define every key; ``tests/prompts`` checks that, and that the
placeholders match, so a missing translation fails the build instead of a live call.
"""

from __future__ import annotations

from dataclasses import dataclass

from prompts.catalog import en_us, es_us

LANGUAGES = ("en-US", "es-US")
_CATALOGS = {"en-US": en_us.MESSAGES, "es-US": es_us.MESSAGES}


@dataclass(frozen=True)
class Voice:
    """What a voice channel needs to speak a language."""

    name: str
    language: str


_VOICES = {"en-US": Voice("Polly.Joanna", "en-US"), "es-US": Voice("Polly.Lupe", "es-US")}


def messages(language: str) -> dict[str, str]:
    return _CATALOGS.get(language, _CATALOGS["en-US"])


def voice_for(language: str) -> Voice:
    return _VOICES.get(language, _VOICES["en-US"])
