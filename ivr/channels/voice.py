"""Voice calls: one webhook in, one flow event applied, TwiML out.

Replays are answered from the session: each response's action URLs carry the turn number it
asks about, so a webhook whose turn is not the session's current turn (Twilio's retry, a
double submit, a request racing another worker) gets the stored last response, unchanged.
The session row is locked for the transaction, so two workers never apply one turn twice.

A turn that moves money (``Turn.authorize``) is committed first; the payment service then
charges and settles it outside this module's transactions, and the flow goes on with the
settled payment once the session is locked again. The turn is re-checked then, so a racing
duplicate only ever replays; the gateway's answer is recorded either way.

A call that has ended (its final status arrived) or sat idle past its expiry takes no more
input: a late or repeated webhook for it hears a goodbye and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping

from sqlalchemy.orm import Session, joinedload, sessionmaker

from flows import Context, Digits, Flow, NoInput, Turn, agent_capture
from flows.data import AgentData, ConversationData
from flows.engine import Authorized, Event, PayResult, Resume
from flows.journey import CALL_FLOW, agent_whisper
from ivr import audit, logs
from ivr.channels.twiml import voice_message, voice_turn
from ivr.config import Settings
from ivr.db import transaction
from ivr.models import Conversation, SessionStatus
from payments import capture
from payments.capture import RecordingControl
from payments.gateways import ChargeResult, ChargeStatus, DeclineReason
from payments.service import PaidElsewhere, PaymentService
from prompts import Prompt
from verification import normalize_phone

log = logging.getLogger("ivr.voice")

# The account and any card fields waiting ride along with the locked session row: one query,
# not two or three, for most turns.
WITH_ACCOUNT = joinedload(Conversation.account)
WITH_ACCOUNT_AND_CAPTURE = (WITH_ACCOUNT, joinedload(Conversation.capture))
Move = Callable[[Flow, Conversation, Context], Turn | None]
FINAL_CALL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


_PAY_DECLINES = {
    "insufficient": DeclineReason.INSUFFICIENT_FUNDS,
    "expired": DeclineReason.EXPIRED_CARD,
    "processing": DeclineReason.PROCESSING_ERROR,
}


def _pay_answer(form: Mapping[str, str]) -> ChargeResult:
    """``<Pay>``'s ``Result`` (and its connector's error text) in the gateway's words."""
    result = form.get("Result", "")
    reference = form.get("PaymentConfirmationCode", "")[:200] or None
    if result == "success":
        return ChargeResult(
            ChargeStatus.APPROVED, reference, form.get("PaymentToken", "")[:200] or None
        )
    if result == "payment-connector-error":
        error = (form.get("PaymentError") or form.get("ConnectorError") or "")[:100].lower()
        reason = next(
            (r for word, r in _PAY_DECLINES.items() if word in error), DeclineReason.DECLINED
        )
        return ChargeResult(ChargeStatus.DECLINED, reference, decline_reason=reason)
    if result in {"caller-interrupted-with-star", "caller-hung-up"}:
        return ChargeResult(ChargeStatus.FAILED, decline_reason=DeclineReason.CANCELLED)
    return ChargeResult(ChargeStatus.FAILED, decline_reason=DeclineReason.PROCESSING_ERROR)


def pay_result(form: Mapping[str, str]) -> PayResult:
    """What Twilio's ``<Pay>`` (or its Payments API) posted, in our words. Only the last four
    digits of its masked card number are kept, and the brand in our spelling."""
    expiry = re.sub(r"\D", "", form.get("ExpirationDate", ""))[:4]
    paid = PaidElsewhere(
        _pay_answer(form),
        brand=form.get("PaymentCardType", "")[:20].lower() or None,
        last4=re.sub(r"\D", "", form.get("PaymentCardNumber", ""))[-4:] or None,
        exp=(int(expiry[:2]), 2000 + int(expiry[2:])) if len(expiry) == 4 else None,
    )
    return PayResult(paid)


def event_from(query: Mapping[str, str], form: Mapping[str, str]) -> Event:
    """The flow event a ``/voice/step`` request carries.

    ``resume=1`` marks the redirect after a "one moment" turn, ``pay=1`` the ``<Pay>`` action
    (:func:`pay_result`), ``silence=1`` the fall-through of a ``<Gather>``; otherwise
    ``Digits`` (none means silence).
    """
    if query.get("resume") == "1":
        return Resume()
    if query.get("pay") == "1":
        return pay_result(form)
    digits = form.get("Digits")
    if query.get("silence") == "1" or not digits:
        return NoInput()
    return Digits(digits.strip())


class VoiceCalls:
    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        payments: PaymentService,
        recording: RecordingControl,
        flow: Flow = CALL_FLOW,
        release_agent: Callable[[str], None] = lambda _sid: None,
    ):
        """``release_agent(call_sid)`` runs after a call handed to the agents has ended (the
        conference bridge takes a held agent off hold)."""
        self.factory = factory
        self.settings = settings
        self.payments = payments
        self.recording = recording
        self.flow = flow
        self.release_agent = release_agent

    def _context(self, db: Session, conv: Conversation, now: dt.datetime) -> Context:
        return Context(
            db, self.settings, conv.caller, f"call:{conv.sid}", now, self.payments, self.recording
        )

    def _expiry(self, now: dt.datetime) -> dt.datetime:
        return now + dt.timedelta(minutes=self.settings.SESSION_TTL_MINUTES)

    def answer(self, sid: str, caller: str | None, now: dt.datetime) -> str:
        """``/voice/incoming``: start the flow, or replay the greeting for a retried request."""
        with transaction(self.factory) as db:
            conv = db.get(Conversation, sid, with_for_update=True)
            if conv is not None:
                logs.event(log, "call.replay", call=sid, turn=conv.turn)
                return conv.last_response or ""
            conv = Conversation(
                sid=sid,
                channel="voice",
                caller=normalize_phone(caller, self.settings.DEFAULT_REGION),
                language=self.settings.DEFAULT_LANGUAGE,
                state="new",
                data={},
                turn=0,
                expires_at=self._expiry(now),
            )
            db.add(conv)
            turn = self.flow.start(conv, self._context(db, conv, now))
            logs.event(log, "call.start", call=sid, caller_known=conv.caller is not None)
            return self._respond(db, conv, turn, now)

    def _current(
        self, db: Session, sid: str, turn_number: int | None, now: dt.datetime
    ) -> Conversation | str:
        """The locked session if this request answers its current turn, else the response.

        A session that expired without its end being reported is ended here, once."""
        conv = db.get(
            Conversation,
            sid,
            options=WITH_ACCOUNT_AND_CAPTURE,
            with_for_update={"of": Conversation},
            populate_existing=True,
        )
        if conv is not None:
            capture.remember(db, conv.sid, conv.capture)  # read with the session's row
        if conv is None or not conv.takes_input(now):
            if conv is not None and conv.status is SessionStatus.ACTIVE:
                self._end(db, conv, "expired", now)
            logs.event(log, "call.expired", call=sid)
            language = conv.language if conv else self.settings.DEFAULT_LANGUAGE
            return voice_message((Prompt("session_expired"),), language)
        if turn_number != conv.turn:
            logs.event(log, "call.replay", call=sid, turn=turn_number, current=conv.turn)
            return conv.last_response or ""
        return conv

    def advance(self, sid: str, turn_number: int | None, event: Event, now: dt.datetime) -> str:
        """``/voice/step``: apply the caller's answer to the turn it answers."""
        with transaction(self.factory) as db:
            conv = self._current(db, sid, turn_number, now)
            if isinstance(conv, str):
                return conv
            turn = self._handle(db, conv, event, now)
            if turn.authorize is None:
                return self._respond(db, conv, turn, now)
        # Money moves here, settled whatever the call does meanwhile.
        settled = self.payments.authorize(turn.authorize, now)
        with transaction(self.factory) as db:
            conv = self._current(db, sid, turn_number, now)  # locked again, turn re-checked
            if isinstance(conv, str):
                return conv
            known = db.merge(settled, load=False)  # as settled: not read again
            return self._respond(db, conv, self._handle(db, conv, Authorized(known), now), now)

    def _handle(self, db: Session, conv: Conversation, event: Event, now: dt.datetime) -> Turn:
        # The session row is written once, at the end of the turn, not before each query;
        # rows a step locks and re-reads are flushed first (ivr.db.lock_row).
        with db.no_autoflush:
            return self.flow.handle(conv, self._context(db, conv, now), event)

    def _respond(self, db: Session, conv: Conversation, turn: Turn, now: dt.datetime) -> str:
        conv.turn += 1
        conv.expires_at = self._expiry(now)
        if turn.end is not None:
            with db.no_autoflush:
                self.payments.vault(db, now).wipe(conv.sid)
        data = ConversationData(conv)
        patience = max(
            self.settings.SLOW_PROMPT_TIMEOUT_FACTOR if data.slow else 1,
            self.settings.MORE_TIME_TIMEOUT_FACTOR if data.more_time else 1,
        )
        conv.last_response = voice_turn(
            turn, conv.language, conv.turn, conv.sid, slow=data.slow, patience=patience
        )
        logs.event(log, "call.turn", call=conv.sid, state=conv.state, turn=conv.turn)
        return conv.last_response

    def moved(self, sid: str, move: Move, now: dt.datetime) -> str:
        """A REST redirect moved the call (the agent console): ``move`` applies it to the locked
        session, or returns ``None`` for a repeated or stale redirect, answered as a replay."""
        with transaction(self.factory) as db:
            conv = db.get(Conversation, sid, with_for_update=True, populate_existing=True)
            if conv is None or conv.status is SessionStatus.ENDED:
                logs.event(log, "call.expired", call=sid)
                language = conv.language if conv else self.settings.DEFAULT_LANGUAGE
                return voice_message((Prompt("session_expired"),), language)
            turn = move(self.flow, conv, self._context(db, conv, now))
            if turn is None:
                logs.event(log, "call.replay", call=sid, turn=conv.turn, moved=True)
                return conv.last_response or ""
            return self._respond(db, conv, turn, now)

    def whisper(self, sid: str) -> str:
        """What the representative hears on answering a transfer from call ``sid``."""
        with transaction(self.factory) as db:
            conv = db.get(Conversation, sid)
            prompts = agent_whisper(conv) if conv else (Prompt("agent_whisper_unverified"),)
            return voice_message(prompts, "en-US", hangup=False)

    def status(self, sid: str, call_status: str, now: dt.datetime) -> None:
        """``/voice/status``: on a final status, end the session and drop its working data,
        then release the agent of a call handed to the agents."""
        if call_status not in FINAL_CALL_STATUSES:
            return
        with transaction(self.factory) as db:
            conv = db.get(
                Conversation,
                sid,
                options=WITH_ACCOUNT_AND_CAPTURE,
                with_for_update={"of": Conversation},
            )
            if conv is None or conv.status is not SessionStatus.ACTIVE:
                return
            capture.remember(db, conv.sid, conv.capture)
            handed_off = AgentData(conv).handed_off
            self._end(db, conv, call_status, now)
        if handed_off:
            self.release_agent(sid)

    def _end(self, db: Session, conv: Conversation, reason: str, now: dt.datetime) -> None:
        """The call is over: wipe any card fields still waiting, forget the working data.

        ``conv`` was read with its capture row (if any), so a call that keyed no card costs no
        DELETE here."""
        self.payments.vault(db, now).wipe(conv.sid)
        agent_capture.call_ended(db, conv)
        conv.status = SessionStatus.ENDED
        conv.data = {}
        audit.record(
            db,
            "call.ended",
            actor="system",
            outcome=reason,
            resource=f"account:{conv.account.number}" if conv.account else None,
            origin=f"call:{conv.sid}",
        )
        logs.event(log, "call.end", call=conv.sid, reason=reason)
