"""The Twilio REST adapter: the one place our code calls Twilio's API from.

Webhooks are Twilio calling us; this is the other direction (pausing the call recording around
card capture, sending texts, moving a live call to new TwiML when an agent starts secure
capture, holding the agent's leg in the call's conference meanwhile). Everything goes through
:class:`Telephony`, so tests replace the network with a fake and the embedded default runs
with no Twilio account at all:

- ``TELEPHONY=local`` (default): :class:`LocalTelephony` logs what it would do and keeps the last
  messages in memory. Nothing leaves the machine. Call redirects and holds wait in the database
  for the call simulator, which plays Twilio's part (``ivr call`` in another terminal sees them).
- ``TELEPHONY=twilio``: :class:`TwilioTelephony` on the official SDK, whose client is passed in
  (tests give it an HTTP client that answers like Twilio).

Failures raise :class:`TelephonyError`, whose message names what failed and Twilio's error
code, never an SMS body.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Protocol

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ivr import logs
from ivr.adapters.local_tables import LocalHold, LocalRedirect
from ivr.config import Settings, choose
from ivr.db import insert_on_conflict, transaction
from ivr.logs import mask_phone
from ivr.models import utcnow

log = logging.getLogger("ivr.adapters.telephony")

CURRENT_RECORDING: Final = "Twilio.CURRENT"  # Twilio's name for the call's active recording
TWILIO_TIMEOUT_SECONDS: Final = 10.0  # a webhook waits on pause_recording: never hang on it


class TelephonyError(Exception):
    """Twilio refused the request or could not be reached; the message says which and why."""


class Telephony(Protocol):
    def pause_recording(self, call_sid: str) -> None:
        """Stop recording the call (before card capture). Not recording is not an error."""

    def resume_recording(self, call_sid: str) -> None:
        """Start recording the call again (after card capture)."""

    def send_sms(self, to: str, body: str) -> str:
        """Send a text message; returns its message id (a Twilio ``SM...`` sid)."""

    def redirect_call(self, call_sid: str, url: str) -> None:
        """Make the live call fetch its next TwiML from ``url`` (POST), leaving what it plays."""

    def hold_participant(
        self, conference_sid: str, call_sid: str, hold_url: str | None = None
    ) -> None:
        """Put ``call_sid`` on hold in the conference, hearing ``hold_url`` (POST); with no
        ``hold_url``, take it off hold."""

    def start_payment(self, call_sid: str, payment: AssistedPayment) -> str:
        """Open a Twilio Payments session on the live call; returns its ``PK...`` sid."""

    def update_payment(self, call_sid: str, payment_sid: str, change: PaymentChange) -> None:
        """Ask the caller for one field (``capture``), or finish (``status``: complete/cancel)."""


@dataclass(frozen=True)
class AssistedPayment:
    """A Twilio Payments session an agent opens on a call (the caller keys, Twilio charges)."""

    idempotency_key: str
    status_callback: str
    charge_cents: int
    connector: str
    description: str


@dataclass(frozen=True)
class PaymentChange:
    idempotency_key: str
    status_callback: str
    capture: str | None = None
    status: str | None = None


def _twilio_problem(error: Exception) -> str:
    """What went wrong, from Twilio's status and error code (its text can echo parameters)."""
    status = getattr(error, "status", None)
    if status is None:
        return f"Twilio could not be reached ({type(error).__name__}); check the network"
    code = getattr(error, "code", None) or status
    hint = "; check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN" if status in (401, 403) else ""
    return f"Twilio answered HTTP {status}, error {code} (https://www.twilio.com/docs/errors/{code}){hint}"


class TwilioTelephony:
    """:class:`Telephony` through Twilio's REST API (the SDK ``client`` is passed in)."""

    def __init__(self, client: Client, from_number: str) -> None:
        self._client = client
        self._from = from_number

    @classmethod
    def from_settings(
        cls, settings: Settings, _factory: sessionmaker[Session] | None = None
    ) -> TwilioTelephony:
        """On the SDK's client for the account, which pools connections: build it once."""
        client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=TwilioHttpClient(timeout=TWILIO_TIMEOUT_SECONDS),
        )
        return cls(client, settings.TWILIO_FROM_NUMBER)

    def pause_recording(self, call_sid: str) -> None:
        self._set_recording(call_sid, "paused")

    def resume_recording(self, call_sid: str) -> None:
        self._set_recording(call_sid, "in-progress")

    def _set_recording(self, call_sid: str, status: str) -> None:
        recording = self._client.calls(call_sid).recordings(CURRENT_RECORDING)
        try:
            recording.update(status=status)
        except (TwilioException, OSError) as error:
            if getattr(error, "status", None) == 404:
                # No active recording (recording is off, or the call has ended): nothing to do.
                logs.event(log, "telephony.not_recording", call=call_sid, wanted=status)
                return
            raise TelephonyError(
                f"Could not set the recording of call {call_sid} to {status}: "
                f"{_twilio_problem(error)}."
            ) from error
        logs.event(log, _RECORDING_EVENTS[status], call=call_sid)

    def start_payment(self, call_sid: str, payment: AssistedPayment) -> str:
        cents = payment.charge_cents
        try:
            created = self._client.calls(call_sid).payments.create(
                idempotency_key=payment.idempotency_key,
                status_callback=payment.status_callback,
                charge_amount=Decimal(cents).scaleb(-2),  # 14250 -> "142.50", never a float
                currency="usd",
                description=payment.description,
                payment_connector=payment.connector,
                payment_method="credit-card",
                security_code=True,
                postal_code=True,
            )
        except (TwilioException, OSError) as error:
            raise TelephonyError(
                f"Could not start a payment on call {call_sid}: {_twilio_problem(error)}."
            ) from error
        logs.event(log, "telephony.payment_started", call=call_sid, payment=created.sid)
        return str(created.sid)

    def update_payment(self, call_sid: str, payment_sid: str, change: PaymentChange) -> None:
        options = {"capture": change.capture} if change.capture else {"status": change.status}
        try:
            self._client.calls(call_sid).payments(payment_sid).update(
                idempotency_key=change.idempotency_key,
                status_callback=change.status_callback,
                **options,
            )
        except (TwilioException, OSError) as error:
            raise TelephonyError(
                f"Could not update payment {payment_sid} on call {call_sid}: "
                f"{_twilio_problem(error)}."
            ) from error
        logs.event(log, "telephony.payment_updated", call=call_sid, payment=payment_sid, **options)

    def send_sms(self, to: str, body: str) -> str:
        try:
            message = self._client.messages.create(to=to, from_=self._from, body=body)
        except (TwilioException, OSError) as error:
            raise TelephonyError(
                f"Could not send the SMS to {mask_phone(to)}: {_twilio_problem(error)}."
            ) from error
        logs.event(log, "sms.sent", to=mask_phone(to), sid=message.sid)
        return str(message.sid)

    def redirect_call(self, call_sid: str, url: str) -> None:
        try:
            self._client.calls(call_sid).update(url=url, method="POST")
        except (TwilioException, OSError) as error:
            raise TelephonyError(
                f"Could not redirect call {call_sid} (has the caller hung up?): "
                f"{_twilio_problem(error)}."
            ) from error
        logs.event(log, "telephony.call_redirected", call=call_sid)

    def hold_participant(
        self, conference_sid: str, call_sid: str, hold_url: str | None = None
    ) -> None:
        # The Participants API wants the conference's CF sid, not its friendly name.
        options: dict[str, Any] = (
            {"hold": True, "hold_url": hold_url, "hold_method": "POST"}
            if hold_url
            else {"hold": False}
        )
        try:
            self._client.conferences(conference_sid).participants(call_sid).update(**options)
        except (TwilioException, OSError) as error:
            raise TelephonyError(
                f"Could not {'hold' if hold_url else 'unhold'} call {call_sid} in conference "
                f"{conference_sid} (has it ended?): {_twilio_problem(error)}."
            ) from error
        logs.event(log, _HOLD_EVENTS[bool(hold_url)], call=call_sid, conference=conference_sid)


_HOLD_EVENTS: Final = {True: "telephony.participant_held", False: "telephony.participant_unheld"}
_NO_LOCAL_PAYMENTS: Final = (
    "CAPTURE_MODE=twilio-pay drives Twilio's Payments API on the live call, which needs "
    "TELEPHONY=twilio; the local adapter has no Twilio to ask (use CAPTURE_MODE=dtmf locally)."
)
_RECORDING_EVENTS: Final = {
    "paused": "telephony.recording_paused",
    "in-progress": "telephony.recording_resumed",
}


@dataclass(frozen=True, repr=False)
class LocalSms:
    """A text :class:`LocalTelephony` would have sent. Its repr leaves the body out."""

    sid: str
    to: str
    body: str

    def __repr__(self) -> str:
        return f"<LocalSms {self.sid} to {mask_phone(self.to)}>"


class LocalTelephony:
    """:class:`Telephony` for the embedded default and development: no network at all.

    It logs each action (an SMS body only at DEBUG, since receipts carry account details) and
    keeps the last ``keep`` texts in :attr:`sent` and recording changes in :attr:`recordings`,
    so the simulator and tests can see what a caller would have received. Redirects and holds
    must cross processes (the server redirects, the simulator in another terminal follows), so
    they wait in the database given as ``factory`` until the simulator asks
    (:meth:`take_redirect`, :meth:`on_hold`).
    """

    def __init__(self, keep: int = 100, factory: sessionmaker[Session] | None = None) -> None:
        self.sent: deque[LocalSms] = deque(maxlen=keep)
        self.recordings: deque[tuple[str, str]] = deque(maxlen=keep)
        self.factory = factory

    @classmethod
    def from_settings(
        cls, _settings: Settings, factory: sessionmaker[Session] | None = None
    ) -> LocalTelephony:
        """Leaving call redirects and holds in the app's database, ``factory``."""
        return cls(factory=factory)

    def pause_recording(self, call_sid: str) -> None:
        self.recordings.append((call_sid, "paused"))
        logs.event(log, "telephony.recording_paused", call=call_sid, local=True)

    def resume_recording(self, call_sid: str) -> None:
        self.recordings.append((call_sid, "in-progress"))
        logs.event(log, "telephony.recording_resumed", call=call_sid, local=True)

    def send_sms(self, to: str, body: str) -> str:
        sms = LocalSms(sid="SM" + uuid.uuid4().hex, to=to, body=body)
        self.sent.append(sms)
        logs.event(log, "sms.local", to=mask_phone(to), sid=sms.sid, chars=len(body))
        logs.event(log, "sms.local_body", logging.DEBUG, sid=sms.sid, body=body)
        return sms.sid

    def _database(self) -> sessionmaker[Session]:
        if self.factory is None:
            raise TelephonyError("The local telephony adapter was built without a database.")
        return self.factory

    def _put(self, model: type[LocalHold] | type[LocalRedirect], **row: Any) -> None:
        """Write the call's row, replacing any: one atomic upsert, since a hold and an unhold
        (or two redirects) for one call may arrive together from two workers."""
        with transaction(self._database()) as session:
            upsert = insert_on_conflict(session, model).values(**row)
            session.execute(upsert.on_conflict_do_update(index_elements=["call_sid"], set_=row))

    def redirect_call(self, call_sid: str, url: str) -> None:
        self._put(LocalRedirect, call_sid=call_sid, url=url, created_at=utcnow())
        logs.event(log, "telephony.call_redirected", call=call_sid, local=True)

    def hold_participant(
        self, conference_sid: str, call_sid: str, hold_url: str | None = None
    ) -> None:
        held = hold_url is not None
        self._put(
            LocalHold,
            call_sid=call_sid,
            conference_sid=conference_sid,
            held=held,
            hold_url=hold_url,
            updated_at=utcnow(),
        )
        logs.event(log, _HOLD_EVENTS[held], call=call_sid, conference=conference_sid, local=True)

    def on_hold(self, call_sid: str) -> bool:
        """Whether ``call_sid`` is on hold in its conference now (the simulator's view)."""
        with transaction(self._database()) as session:
            row = session.get(LocalHold, call_sid)
            return row is not None and row.held

    def start_payment(self, call_sid: str, payment: AssistedPayment) -> str:
        raise TelephonyError(_NO_LOCAL_PAYMENTS)

    def update_payment(self, call_sid: str, payment_sid: str, change: PaymentChange) -> None:
        raise TelephonyError(_NO_LOCAL_PAYMENTS)

    def take_redirect(self, call_sid: str) -> str | None:
        """The redirect waiting for ``call_sid``, removed as it is taken (the simulator's poll)."""
        with transaction(self._database()) as session:
            row = session.get(LocalRedirect, call_sid)
            if row is None:
                return None
            session.execute(delete(LocalRedirect).where(LocalRedirect.call_sid == call_sid))
            return row.url


# What TELEPHONY may name, and the adapter class each names.
ADAPTERS: Final[Mapping[str, type[LocalTelephony] | type[TwilioTelephony]]] = {
    "local": LocalTelephony,
    "twilio": TwilioTelephony,
}


def telephony_from_settings(
    settings: Settings, factory: sessionmaker[Session] | None = None
) -> Telephony:
    """The adapter ``TELEPHONY`` names. Build it once per process: the SDK pools connections.

    ``factory`` is the app's database, where the local adapter leaves call redirects."""
    return choose(ADAPTERS, settings, "TELEPHONY").from_settings(settings, factory)
