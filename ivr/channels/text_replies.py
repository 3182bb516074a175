"""Rendering flow turns as text messages, and text messages as TwiML ``<Message>`` replies.

A prompt's text rendering is its ``sms_<key>`` message where the catalog has one (the voice
words say "press" and "pound key"), else the voice prompt itself, with money, dates and
numbers written as people read them ("$142.50", "12/19/2026", "482-913-0057").
"""

from __future__ import annotations

from twilio.twiml.messaging_response import MessagingResponse

from prompts import Prompt, render
from prompts.catalog import messages


def for_text(prompt: Prompt, language: str) -> Prompt:
    """The text variant of ``prompt``, if the catalog has one."""
    key = f"sms_{prompt.key}"
    if key in messages(prompt.language or language):
        return Prompt(key, prompt.params, prompt.language)
    return prompt


def text_of(prompts: tuple[Prompt, ...], language: str) -> str:
    return " ".join(render(for_text(p, language), language, medium="text") for p in prompts)


def message_twiml(text: str | None) -> str:
    """A ``<Response>`` with one ``<Message>``, or none at all (nothing is sent)."""
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response.to_xml())
