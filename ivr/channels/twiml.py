"""Rendering flow turns as TwiML for the voice channel."""

from __future__ import annotations

from typing import Final, Literal

from twilio.twiml.voice_response import Dial, Pay, VoiceResponse

from flows import Transfer, Turn
from flows.engine import Conference, Queue, SecureCapture
from prompts import Prompt, render, voice_for

STEP_URL = "/voice/step"
WHISPER_URL = "/voice/whisper"
PAY_STATUS_URL = "/voice/pay-status"
HOLD_URL = "/voice/hold"
BRIDGE_URL = "/voice/bridge"  # where the caller goes once the agent's leg leaves the bridge
BRIDGE_STATUS_URL = "/voice/bridge-status"
# Who ends the room: the agent leaving ends it; the caller leaving (to key a card) does not.
_ENDS_CONFERENCE: Final = {"caller": False, "agent": True}

# <Pay> asks for each field itself; these are our words for each field and error type.
_PAY_PROMPTS: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("payment-card-number", None, ("capture_intro", "enter_card_number")),
    ("payment-card-number", "invalid-card-number", ("card_number_invalid", "enter_card_number")),
    ("payment-card-number", "invalid-card-type", ("card_brand_unsupported", "enter_card_number")),
    ("payment-card-number", "timeout", ("no_input", "enter_card_number")),
    ("expiration-date", None, ("enter_card_expiry",)),
    ("expiration-date", "invalid-date", ("card_expiry_invalid", "enter_card_expiry")),
    ("expiration-date", "timeout", ("no_input", "enter_card_expiry")),
    ("security-code", None, ("enter_card_code",)),
    ("security-code", "invalid-security-code", ("card_code_invalid", "enter_card_code")),
    ("security-code", "timeout", ("no_input", "enter_card_code")),
    ("postal-code", None, ("enter_card_zip",)),
    ("postal-code", "invalid-postal-code", ("card_zip_invalid", "enter_card_zip")),
    ("postal-code", "timeout", ("no_input", "enter_card_zip")),
    ("payment-processing", None, ("processing",)),
)


def _say(
    target: VoiceResponse, prompts: tuple[Prompt, ...], language: str, slow: bool = False
) -> None:
    """Each prompt in its voice; slowly (SSML prosody) for callers who asked for it."""
    for prompt in prompts:
        voice = voice_for(prompt.language or language)
        words = render(prompt, language)
        if slow:
            target.say(voice=voice.name, language=voice.language).prosody(words, rate="slow")
        else:
            target.say(words, voice=voice.name, language=voice.language)


def _pay(response: VoiceResponse, pay: SecureCapture, language: str, turn_number: int) -> None:
    verb: Pay = response.pay(
        input="dtmf",
        payment_connector=pay.connector,
        charge_amount=f"{pay.charge_cents // 100}.{pay.charge_cents % 100:02d}",
        currency="usd",
        description=pay.description,
        action=f"{STEP_URL}?turn={turn_number}&pay=1",
        status_callback=PAY_STATUS_URL,
        timeout=10,
        max_attempts=3,
        security_code=True,
        postal_code=True,
        language=voice_for(language).language,
    )
    for field, error_type, keys in _PAY_PROMPTS:
        prompt = verb.prompt(for_=field, error_type=error_type)
        _say(prompt, tuple(Prompt(key) for key in keys), language)


def voice_turn(
    turn: Turn,
    language: str,
    turn_number: int,
    call_sid: str,
    *,
    slow: bool = False,
    patience: int = 1,
) -> str:
    """TwiML for ``turn``; ``turn_number`` rides in the action URLs to detect replays.

    Silence and a lone ``#`` both fall through the ``<Gather>`` to the ``<Redirect>``, which
    reports them as no input. ``slow`` (slower prompts) speaks slowly; ``patience``
    multiplies the time the caller has to answer.
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
            timeout=ask.timeout * patience,
        )
        _say(gather, turn.say, language, slow)
        response.redirect(f"{STEP_URL}?turn={turn_number}&silence=1", method="POST")
        return str(response.to_xml())
    _say(response, turn.say, language, slow)
    if turn.resume:
        response.redirect(f"{STEP_URL}?turn={turn_number}&resume=1", method="POST")
        return str(response.to_xml())
    if turn.pay is not None:
        _pay(response, turn.pay, language, turn_number)
        return str(response.to_xml())
    if isinstance(turn.end, Queue):
        response.enqueue(
            turn.end.name, action=BRIDGE_URL, wait_url=HOLD_URL, wait_url_method="POST"
        )
    if isinstance(turn.end, Transfer):
        dial = response.dial(action=BRIDGE_URL, method="POST")
        dial.number(turn.end.number, url=f"{WHISPER_URL}?call={call_sid}", method="POST")
    if isinstance(turn.end, Conference):
        response.append(_conference(turn.end.name, "caller"))
    response.hangup()
    return str(response.to_xml())


def _conference(name: str, role: Literal["caller", "agent"]) -> Dial:
    """``<Dial><Conference>`` for one side of the call's bridge: no beeps, and Twilio reports
    each join, so the agent comes off hold only once the caller is back."""
    dial = Dial()
    dial.conference(
        name,
        participant_label=role,
        beep=False,
        start_conference_on_enter=True,
        end_conference_on_exit=_ENDS_CONFERENCE[role],
        status_callback=BRIDGE_STATUS_URL,
        status_callback_event="join",
        status_callback_method="POST",
    )
    return dial


def bridge(name: str | None, role: Literal["caller", "agent"]) -> str:
    """TwiML that puts a leg in conference ``name``; with no conference, it hangs up."""
    response = VoiceResponse()
    if name is not None:
        response.append(_conference(name, role))
    response.hangup()
    return str(response.to_xml())


def hold_music(music_url: str) -> str:
    """What a held agent hears: music only, looped, never a prompt or a key tone."""
    response = VoiceResponse()
    response.play(music_url, loop=0)
    return str(response.to_xml())


def voice_message(prompts: tuple[Prompt, ...], language: str, *, hangup: bool = True) -> str:
    """TwiML that only speaks (and by default hangs up): goodbyes, errors, whispers."""
    response = VoiceResponse()
    _say(response, prompts, language)
    if hangup:
        response.hangup()
    return str(response.to_xml())


def hold(prompts: tuple[Prompt, ...], language: str, music_url: str) -> str:
    """The queue's wait TwiML: a word, then music; Twilio asks again when the music ends."""
    response = VoiceResponse()
    _say(response, prompts, language)
    response.play(music_url)
    return str(response.to_xml())
