"""Turning a :class:`Prompt` into words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prompts.catalog import LANGUAGES, messages
from prompts.speech import Money, SpokenDate, SpokenDigits


@dataclass(frozen=True)
class Prompt:
    """One message to say: a catalog key and its parameters.

    ``language`` pins the prompt to one language whatever the caller's (the Spanish offer in
    an English greeting, for instance).
    """

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    language: str | None = None


def _value(value: Any, language: str, medium: str) -> Any:
    if isinstance(value, Prompt):
        return render(value, language, medium)
    if isinstance(value, Money | SpokenDate | SpokenDigits):
        return value.write(language) if medium == "text" else value.speak(language)
    return value


def render(prompt: Prompt, language: str, medium: str = "voice") -> str:
    """The words of ``prompt`` in ``prompt.language`` or else ``language``.

    ``medium`` is ``"voice"`` (values written out for speech: "142 dollars and 50 cents") or
    ``"text"`` (values as people read them: "$142.50"). A parameter may itself be a prompt.
    """
    lang = prompt.language or language
    if lang not in LANGUAGES:
        lang = LANGUAGES[0]
    template = messages(lang)[prompt.key]
    values = {name: _value(value, lang, medium) for name, value in prompt.params.items()}
    return template.format(**values)
