"""Every word the system says, per language, and how values are spoken.

Flows never hold sentences: they emit :class:`Prompt` values (a message key plus typed
parameters) and a channel renders them with :func:`render` in the caller's language.
Typed parameters (:class:`Money`, :class:`SpokenDate`, :class:`SpokenDigits`) are what let one
prompt be spoken naturally in each language.
"""

from prompts.catalog import LANGUAGES, Voice, voice_for
from prompts.render import Prompt, render
from prompts.speech import Money, SpokenDate, SpokenDigits

__all__ = [
    "LANGUAGES",
    "Money",
    "Prompt",
    "SpokenDate",
    "SpokenDigits",
    "Voice",
    "render",
    "voice_for",
]
