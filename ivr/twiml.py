"""Rendering flow turns as TwiML for the voice channel."""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from flows import Transfer, Turn
from prompts import Prompt, render, voice_for

STEP_URL = "/voice/step"
WHISPER_URL = "/voice/whisper"


def _say(target: VoiceResponse, prompts: tuple[Prompt, ...], language: str) -> None:
    for prompt in prompts:
        voice = voice_for(prompt.language or language)
        target.say(render(prompt, language), voice=voice.name, language=voice.language)


def voice_turn(turn: Turn, language: str, turn_number: int, call_sid: str) -> str:
    """TwiML for ``turn``; ``turn_number`` rides in the action URLs to detect replays.

    Silence and a lone ``#`` both fall through the ``<Gather>`` to the ``<Redirect>``, which
    reports them as no input.
    """
    response = VoiceResponse()
    if turn.ask is not None:
        ask = turn.ask
        gather = response.gather(
            input="dtmf",
            action=f"{STEP_URL}?turn={turn_number}",
            method="POST",
            num_digits=ask.max_digits,
            finish_on_key=ask.finish_on_key,
            timeout=ask.timeout,
        )
        _say(gather, turn.say, language)
        response.redirect(f"{STEP_URL}?turn={turn_number}&silence=1", method="POST")
        return str(response.to_xml())
    _say(response, turn.say, language)
    if isinstance(turn.end, Transfer):
        dial = response.dial()
        dial.number(turn.end.number, url=f"{WHISPER_URL}?call={call_sid}", method="POST")
    response.hangup()
    return str(response.to_xml())


def voice_message(prompts: tuple[Prompt, ...], language: str, *, hangup: bool = True) -> str:
    """TwiML that only speaks (and by default hangs up): goodbyes, errors, whispers."""
    response = VoiceResponse()
    _say(response, prompts, language)
    if hangup:
        response.hangup()
    return str(response.to_xml())
