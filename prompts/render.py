"""Turning a :class:`Prompt` into words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prompts.catalog import messages
from prompts.speech import Digits, Money, SpokenDate


@dataclass(frozen=True)
class Prompt:
    """One message to say: a catalog key and its parameters.

    ``language`` pins the prompt to one language whatever the caller's (the Spanish offer in
    an English greeting, for instance).
    """

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    language: str | None = None


def render(prompt: Prompt, language: str) -> str:
    """The words of ``prompt`` in ``prompt.language`` or else ``language``."""
    lang = prompt.language or language
    template = messages(lang)[prompt.key]
    values = {
        name: value.speak(lang) if isinstance(value, Money | SpokenDate | Digits) else value
        for name, value in prompt.params.items()
    }
    return template.format(**values)
