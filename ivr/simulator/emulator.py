"""Playing Twilio's part: the engine of ``ivr call`` and of the end-to-end tests.

It signs each request exactly like Twilio (``X-Twilio-Signature`` over the public URL and
form), reads the TwiML that comes back, prints what would be said, answers ``<Gather>`` with
key presses, follows ``action`` and ``<Redirect>``, plays the agent's side of ``<Dial>``,
waits in ``<Enqueue>`` (asking its ``waitUrl`` like Twilio, then playing a contact centre
whose agent dequeues the caller through ``queue_url``), joins ``<Conference>`` rooms (posting
their join events), follows redirects the app made through the REST API (``redirects``: the
local telephony adapter's mailbox) for the caller's leg and the agent's, shows when the agent
is on hold (``holds``), and posts the final status callback when the call ends.
"""

from __future__ import annotations

import datetime as dt
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from twilio.request_validator import RequestValidator

from ivr.config import Settings
from ivr.logs import redact
from payments.cards import FieldError, check_code, check_number, check_zip, parse_expiry
from payments.gateways.sandbox import TEST_DECLINES
from prompts.catalog import LANGUAGES, messages

SILENCE = ""
HANG_UP = None
MAX_REQUESTS = 200
QUEUE_URL = "/voice/agent-connect"  # the contact centre's <Dial><Queue url=...>, as README says
# The prompts that ask for a card field, in every language: what is keyed after them is shown
# only as a count, as a recording paused for capture would keep nothing of it.
CAPTURE_PROMPTS = tuple(
    messages(language)[key]
    for language in LANGUAGES
    for key in (
        "enter_card_number",
        "enter_card_expiry",
        "enter_card_code_back",
        "enter_card_code_front",
        "enter_card_zip",
    )
)


def asks_for_card_details(prompt: str) -> bool:
    """Whether ``prompt`` (what a ``<Gather>`` said) asks for a card field."""
    return any(words in prompt for words in CAPTURE_PROMPTS)


def shown(pressed: str, *, secret: bool) -> str:
    """Key presses as ``ivr call`` prints them: a card field's only as a count of keys, and
    anything else with card numbers redacted (a caller may key one at the wrong prompt)."""
    if not pressed:
        return "(nothing)"
    if secret:
        return f"({len(pressed)} key{'s' if len(pressed) > 1 else ''}, hidden)"
    return redact(pressed)


class Transport(Protocol):
    def __call__(self, path: str, form: dict[str, str], signature: str) -> tuple[int, str]: ...


def http_transport(base_url: str) -> Transport:
    """Send requests to a running server."""

    def send(path: str, form: dict[str, str], signature: str) -> tuple[int, str]:
        request = urllib.request.Request(  # noqa: S310 - the operator chose the URL
            base_url.rstrip("/") + path,
            data=urllib.parse.urlencode(form).encode(),
            headers={"X-Twilio-Signature": signature},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as reply:  # noqa: S310
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    return send


def flask_transport(client: object) -> Transport:
    """Send requests to an app in this process through its Flask test client."""

    def send(path: str, form: dict[str, str], signature: str) -> tuple[int, str]:
        reply = client.post(path, data=form, headers={"X-Twilio-Signature": signature})  # type: ignore[attr-defined]
        return reply.status_code, reply.get_data(as_text=True)

    return send


class WebhookRefusedError(RuntimeError):
    """The app answered a webhook with something other than TwiML (a 403, a 500...)."""


@dataclass
class CallRecord:
    """What happened on one simulated call."""

    call_sid: str
    said: list[str] = field(default_factory=list)
    transfers: list[str] = field(default_factory=list)
    agent_heard: list[str] = field(default_factory=list)
    responses: list[str] = field(default_factory=list)
    hung_up_by: str = ""
    agent_leg: str = ""  # the representative's call, once one picked up

    @property
    def text(self) -> str:
        return "\n".join(self.said)


class ScriptedKeys:
    """Answers from a list; ``""`` is silence, the end of the list hangs up. A scripted caller
    holds for an agent only while it still has keys to press (card details for the capture the
    agent will start); with none left, it hangs up rather than wait."""

    def __init__(self, presses: list[str]) -> None:
        self._presses = list(presses)

    def __call__(self, _prompt: str) -> str | None:
        return self._presses.pop(0) if self._presses else HANG_UP

    @property
    def exhausted(self) -> bool:
        return not self._presses


def keys_from(presses: list[str]) -> ScriptedKeys:
    """A key source that answers from a list (see :class:`ScriptedKeys`)."""
    return ScriptedKeys(presses)


class Simulator:
    def __init__(
        self,
        transport: Transport,
        *,
        public_base_url: str,
        auth_token: str,
        account_sid: str,
        echo: Callable[[str], None] = lambda _line: None,
        redirects: Callable[[str], str | None] | None = None,
        holds: Callable[[str], bool] | None = None,
        queue_url: str = QUEUE_URL,
        hold_poll_seconds: float = 1.0,
        max_hold_seconds: float = 600.0,
    ) -> None:
        self.transport = transport
        self.redirects = redirects
        self.holds = holds
        self.queue_url = queue_url
        self.hold_poll_seconds = hold_poll_seconds
        self.max_hold_seconds = max_hold_seconds
        self.public_base_url = public_base_url.rstrip("/")
        self.validator = RequestValidator(auth_token)
        self.account_sid = account_sid
        self.echo = echo

    @classmethod
    def signing_as(cls, settings: Settings, transport: Transport, **options: Any) -> Simulator:
        """A simulator that signs as Twilio does for the app configured by ``settings``."""
        return cls(
            transport,
            public_base_url=settings.PUBLIC_BASE_URL,
            auth_token=settings.TWILIO_AUTH_TOKEN,
            account_sid=settings.TWILIO_ACCOUNT_SID,
            **options,
        )

    def post(self, path: str, form: dict[str, str]) -> tuple[int, str]:
        signature = self.validator.compute_signature(self.public_base_url + path, form)
        return self.transport(path, form, signature)

    def call(
        self,
        keys: Callable[[str], str | None],
        *,
        caller: str,
        called: str = "+15005550000",
        call_sid: str | None = None,
    ) -> CallRecord:
        """Place one call; ``keys(prompt_text)`` answers each ``<Gather>``."""
        record = CallRecord(call_sid or "CA" + uuid.uuid4().hex)
        base = {
            "CallSid": record.call_sid,
            "AccountSid": self.account_sid,
            "From": caller,
            "To": called,
            "Direction": "inbound",
        }
        path, form = "/voice/incoming", {**base, "CallStatus": "ringing"}
        for _ in range(MAX_REQUESTS):
            moved = self._redirected(record.call_sid)
            if moved is not None and path != "/voice/incoming":
                path, form = moved, {**base, "CallStatus": "in-progress"}
            status, body = self.post(path, form)
            if status != 200:
                raise WebhookRefusedError(f"POST {path} answered {status}: {body[:200]}")
            record.responses.append(body)
            following = self._play(body, record, keys, base)
            if following is None:
                break
            path, extra = following
            form = {**base, "CallStatus": "in-progress", **extra}
        self.post("/voice/status", {**base, "CallStatus": "completed", "CallDuration": "60"})
        return record

    def _redirected(self, call_sid: str, who: str = "call") -> str | None:
        """The path of a REST redirect waiting for this call, as Twilio would follow it."""
        url = self.redirects(call_sid) if self.redirects and call_sid else None
        if url is None:
            return None
        parsed = urllib.parse.urlsplit(url)
        self.echo(f"  (the {who} is redirected)")
        return parsed.path + (f"?{parsed.query}" if parsed.query else "")

    def _say(self, record: CallRecord, element: ET.Element) -> str:
        text = "".join(element.itertext()).strip()  # slow prompts wrap words in <prosody>
        record.said.append(text)
        self.echo(f"  IVR: {text}")
        return text

    def _play(
        self,
        body: str,
        record: CallRecord,
        keys: Callable[[str], str | None],
        base: dict[str, str],
    ) -> tuple[str, dict[str, str]] | None:
        """Run one TwiML document; returns the next request, or ``None`` when the call ends."""
        for verb in ET.fromstring(body):  # noqa: S314 - our own app's TwiML
            if verb.tag == "Say":
                self._say(record, verb)
            elif verb.tag == "Gather":
                prompt = " ".join(self._say(record, say) for say in verb.iter("Say"))
                pressed = keys(prompt)
                if pressed is HANG_UP:
                    record.hung_up_by = "caller"
                    self.echo("  (caller hangs up)")
                    return None
                digits = _gathered(pressed, verb)
                secret = asks_for_card_details(prompt)
                self.echo(f"  caller presses: {shown(pressed, secret=secret)}")
                if digits:
                    return verb.get("action", "/voice/step"), {"Digits": digits}
            elif verb.tag == "Redirect":
                return (verb.text or "").strip(), {}
            elif verb.tag == "Dial":
                following = self._dial(verb, record, base, keys)
                if following is not None or record.hung_up_by:
                    return following
            elif verb.tag == "Enqueue":
                return self._enqueue(verb, record, base, keys)
            elif verb.tag == "Pay":
                return self._pay(verb, record, keys)
            elif verb.tag == "Hangup":
                record.hung_up_by = "ivr"
                self.echo("  (IVR hangs up)")
                return None
        record.hung_up_by = record.hung_up_by or "ivr"
        return None

    def _dial(
        self,
        verb: ET.Element,
        record: CallRecord,
        base: dict[str, str],
        keys: Callable[[str], str | None],
    ) -> tuple[str, dict[str, str]] | None:
        """Join a ``<Conference>``, or ring each ``<Number>`` (playing its whisper to the agent)
        and stay bridged until the app moves a leg; ``None`` goes on with the next verb."""
        room = verb.find("Conference")
        if room is not None:
            return self._conference(room, record, base, keys)
        for number in verb.iter("Number"):
            target = (number.text or "").strip()
            record.transfers.append(target)
            self.echo(f"  (transferred to {target})")
            record.agent_leg = "CA" + uuid.uuid4().hex
            whisper = number.get("url")
            if whisper:
                child = {**base, "CallSid": record.agent_leg, "ParentCallSid": base["CallSid"]}
                for say in ET.fromstring(self._fetch(whisper, child)).iter("Say"):  # noqa: S314
                    text = (say.text or "").strip()
                    record.agent_heard.append(text)
                    self.echo(f"  agent hears: {text}")
        if not (record.agent_leg and verb.get("action") and self._waiting(keys)()):
            return None  # nobody can move the call: the bridge lasts until the verb ends
        return self._bridged(verb, record, base, keys, {"DialCallStatus": "completed"})

    def _fetch(self, path: str, form: dict[str, str]) -> str:
        status, body = self.post(path, form)
        if status not in (200, 204):  # a status callback answers 204, no TwiML
            raise WebhookRefusedError(f"POST {path} answered {status}")
        return body

    def _waiting(self, keys: Callable[[str], str | None]) -> Callable[[], bool]:
        """Whether the caller still holds: someone can move the call (``redirects``), the
        caller has keys left to press, and ``max_hold_seconds`` have not passed."""
        started = time.monotonic()
        patient = self.redirects is not None and not (
            isinstance(keys, ScriptedKeys) and keys.exhausted
        )
        return lambda: patient and time.monotonic() - started < self.max_hold_seconds

    def _hung_up_holding(self, record: CallRecord) -> None:
        record.hung_up_by = "caller"
        self.echo("  (caller hangs up while waiting)")

    def _bridged(
        self,
        verb: ET.Element,
        record: CallRecord,
        base: dict[str, str],
        keys: Callable[[str], str | None],
        result: dict[str, str],
    ) -> tuple[str, dict[str, str]] | None:
        """Caller and agent talk over a plain bridge until the app moves a leg: the caller's
        (followed at once) or the agent's (the agent goes where it is sent, and the caller's
        leg, left alone, asks the verb's ``action``)."""

        def moved() -> tuple[str, dict[str, str]] | None:
            if (caller_to := self._redirected(record.call_sid)) is not None:
                return caller_to, {}
            if (agent_to := self._redirected(record.agent_leg, who="agent's call")) is None:
                return None
            self._agent_goes(agent_to, record, base)
            return verb.get("action", ""), result

        return self._hold(record, keys, moved)

    def _hold(
        self,
        record: CallRecord,
        keys: Callable[[str], str | None],
        moved: Callable[[], tuple[str, dict[str, str]] | None],
    ) -> tuple[str, dict[str, str]] | None:
        """Poll ``moved`` (where the app sent the call, if anywhere yet) while the caller still
        holds; ``None`` once they give up and hang up."""
        waiting = self._waiting(keys)
        while waiting():
            if (to := moved()) is not None:
                return to
            time.sleep(self.hold_poll_seconds)
        self._hung_up_holding(record)
        return None

    def _agent_goes(self, path: str, record: CallRecord, base: dict[str, str]) -> None:
        """Play the agent's leg at ``path``: into a conference, if that is where it is sent."""
        body = self._fetch(
            path, {**base, "CallSid": record.agent_leg, "Direction": "outbound-dial"}
        )
        for room in ET.fromstring(body).iter("Conference"):  # noqa: S314
            self.echo(f"  (the representative joins conference {(room.text or '').strip()})")
            self._joined(room, record.agent_leg, base)

    def _joined(self, room: ET.Element, call_sid: str, base: dict[str, str]) -> None:
        """Post the room's join event for ``call_sid``, as Twilio's conference status callback."""
        callback = room.get("statusCallback")
        if not callback or "join" not in room.get("statusCallbackEvent", ""):
            return
        name = (room.text or "").strip()
        event = {
            **base,
            "CallSid": call_sid,
            "ConferenceSid": "CF" + uuid.uuid5(uuid.NAMESPACE_URL, name).hex,
            "FriendlyName": name,
            "StatusCallbackEvent": "participant-join",
        }
        self._fetch(callback, event)

    def _agent_hold(self, record: CallRecord) -> str:
        if self.holds is None or not record.agent_leg:
            return ""
        if self.holds(record.agent_leg):
            return "  (your representative is on hold, hearing music)"
        return "  (your representative is on the line)"

    def _conference(
        self,
        room: ET.Element,
        record: CallRecord,
        base: dict[str, str],
        keys: Callable[[str], str | None],
    ) -> tuple[str, dict[str, str]] | None:
        """Sit in the conference with the agent until the app moves the caller's leg (to card
        capture, while the agent is held) or the caller gives up."""
        name = (room.text or "").strip()
        record.transfers.append(f"conference:{name}")
        self.echo(f"  (in conference {name})")
        self._joined(room, record.call_sid, base)
        if status := self._agent_hold(record):
            self.echo(status)

        def moved() -> tuple[str, dict[str, str]] | None:
            if (to := self._redirected(record.call_sid)) is None:
                return None
            if status := self._agent_hold(record):
                self.echo(status)
            return to, {}

        return self._hold(record, keys, moved)

    def _enqueue(
        self,
        verb: ET.Element,
        record: CallRecord,
        base: dict[str, str],
        keys: Callable[[str], str | None],
    ) -> tuple[str, dict[str, str]] | None:
        """Wait in the queue, playing its ``waitUrl`` once, then be dequeued by an agent (the
        contact centre's ``<Dial><Queue url>``) and stay bridged (:meth:`_bridged`). Without a
        source of ``redirects`` nothing can take the call, so the caller hangs up at once."""
        queue = (verb.text or "").strip()
        record.transfers.append(f"queue:{queue}")
        self.echo(f"  (waiting in the {queue} queue for a representative)")
        if not self._waiting(keys)():
            self._hung_up_holding(record)
            return None
        wait_url = verb.get("waitUrl")
        if wait_url:
            waiting = {**base, "QueueSid": "QU0", "QueuePosition": "1"}
            for say in ET.fromstring(self._fetch(wait_url, waiting)).iter("Say"):  # noqa: S314
                self._say(record, say)
        record.agent_leg = "CA" + uuid.uuid4().hex
        dequeued = {
            **base,
            "QueueSid": "QU0",
            "QueueTime": "1",
            "DequeingCallSid": record.agent_leg,
        }
        self._fetch(self.queue_url, dequeued)
        self.echo("  (a representative picks up)")
        return self._bridged(verb, record, base, keys, {"QueueResult": "bridged"})

    def _pay(
        self, verb: ET.Element, record: CallRecord, keys: Callable[[str], str | None]
    ) -> tuple[str, dict[str, str]] | None:
        """Play Twilio's ``<Pay>`` and its connector: ask each field with the app's prompts,
        check it as Twilio would, then charge by the sandbox's test-card rules. The digits stay
        here, as they stay at Twilio: the app only receives the result."""
        action = verb.get("action", "/voice/step")
        prompts = {
            (prompt.get("for"), prompt.get("errorType")): " ".join(
                (say.text or "").strip() for say in prompt.iter("Say")
            )
            for prompt in verb.iter("Prompt")
        }
        values: dict[str, str] = {}
        for pay_field in PAY_FIELDS:
            error: str | None = None
            for _ in range(int(verb.get("maxAttempts", "1"))):
                text = prompts.get((pay_field, error)) or prompts.get((pay_field, None), pay_field)
                record.said.append(text)
                self.echo(f"  IVR (Pay): {text}")
                pressed = keys(text)
                if pressed is HANG_UP:
                    record.hung_up_by = "caller"
                    return None
                self.echo(f"  caller presses: {shown(pressed, secret=True)}")
                if "*" in pressed:
                    return action, {"Result": "caller-interrupted-with-star"}
                error = _pay_field_error(pay_field, pressed.rstrip("#"), values)
                if error is None:
                    values[pay_field] = pressed.rstrip("#")
                    break
            else:
                return action, {"Result": "too-many-failed-attempts"}
        record.said.append(prompts.get(("payment-processing", None), ""))
        return action, _pay_outcome(values)


PAY_FIELDS = ("payment-card-number", "expiration-date", "security-code", "postal-code")


def _pay_field_error(field: str, value: str, entered: dict[str, str]) -> str | None:
    if field == "payment-card-number":
        return "invalid-card-number" if check_number(value).error else None
    if field == "expiration-date":
        expiry = parse_expiry(value, dt.date.today())
        return "invalid-date" if isinstance(expiry, FieldError) else None
    if field == "security-code":
        brand = check_number(entered["payment-card-number"]).brand
        return "invalid-security-code" if brand is None or check_code(value, brand) else None
    return "invalid-postal-code" if check_zip(value) else None


def _pay_outcome(values: dict[str, str]) -> dict[str, str]:
    number = values["payment-card-number"]
    decline = TEST_DECLINES.get(number)
    if decline is not None:
        return {"Result": "payment-connector-error", "PaymentError": decline.value}
    return {
        "Result": "success",
        "PaymentConfirmationCode": "ch_sim_" + uuid.uuid4().hex[:12],
        "PaymentToken": "tok_sim_" + uuid.uuid4().hex[:12],
        "PaymentCardNumber": "xxxx-xxxx-xxxx-" + number[-4:],
        "PaymentCardType": str(check_number(number).brand),
        "ExpirationDate": values["expiration-date"],
        "PaymentCardPostalCode": values["postal-code"],
    }


def _gathered(pressed: str, gather: ET.Element) -> str:
    """What Twilio would post for these key presses: up to ``finishOnKey`` or ``numDigits``."""
    finish = gather.get("finishOnKey", "#")
    limit = int(gather.get("numDigits", "0") or 0)
    digits = pressed.split(finish)[0] if finish and finish in pressed else pressed
    return digits[:limit] if limit else digits
