"""Voice calls: one webhook in, one flow event applied, TwiML out, all in one transaction.

Replays are answered from the session: each response's action URLs carry the turn number it
asks about, so a webhook whose turn is not the session's current turn (Twilio's retry, a
double submit, a request racing another worker) gets the stored last response, unchanged.
The session row is locked for the transaction, so two workers never apply one turn twice.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session, sessionmaker

from flows import Context, Digits, Flow, NoInput, Turn
from flows.engine import Event
from flows.journey import CALL_FLOW, agent_whisper
from ivr import audit, logs
from ivr.config import Settings
from ivr.db import transaction
from ivr.models import CallSession, SessionStatus
from ivr.twiml import voice_message, voice_turn
from prompts import Prompt
from verification import normalize_phone

log = logging.getLogger("ivr.voice")

FINAL_CALL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


def event_from(digits: str | None, silence: bool) -> Event:
    """Map a webhook's ``Digits`` to a flow event (no digits at all means silence)."""
    if silence or not digits:
        return NoInput()
    return Digits(digits.strip())


class VoiceCalls:
    def __init__(self, factory: sessionmaker[Session], settings: Settings, flow: Flow = CALL_FLOW):
        self.factory = factory
        self.settings = settings
        self.flow = flow

    def _context(self, db: Session, conv: CallSession, now: dt.datetime) -> Context:
        return Context(db, self.settings, conv.caller, f"call:{conv.sid}", now)

    def _expiry(self, now: dt.datetime) -> dt.datetime:
        return now + dt.timedelta(minutes=self.settings.SESSION_TTL_MINUTES)

    def answer(self, sid: str, caller: str | None, now: dt.datetime) -> str:
        """``/voice/incoming``: start the flow, or replay the greeting for a retried request."""
        with transaction(self.factory) as db:
            conv = db.get(CallSession, sid, with_for_update=True)
            if conv is not None:
                logs.event(log, "call.replay", call=sid, turn=conv.turn)
                return conv.last_response or ""
            conv = CallSession(
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
            return self._respond(conv, turn, now)

    def advance(self, sid: str, turn_number: int | None, event: Event, now: dt.datetime) -> str:
        """``/voice/step``: apply the caller's answer to the turn it answers."""
        with transaction(self.factory) as db:
            conv = db.get(CallSession, sid, with_for_update=True)
            if conv is None or conv.expires_at <= now:
                if conv is not None:
                    self._end(db, conv, "expired")
                logs.event(log, "call.expired", call=sid)
                return voice_message(
                    (Prompt("session_expired"),),
                    conv.language if conv else self.settings.DEFAULT_LANGUAGE,
                )
            if turn_number != conv.turn:
                logs.event(log, "call.replay", call=sid, turn=turn_number, current=conv.turn)
                return conv.last_response or ""
            turn = self.flow.handle(conv, self._context(db, conv, now), event)
            return self._respond(conv, turn, now)

    def _respond(self, conv: CallSession, turn: Turn, now: dt.datetime) -> str:
        conv.turn += 1
        conv.expires_at = self._expiry(now)
        conv.last_response = voice_turn(turn, conv.language, conv.turn, conv.sid)
        logs.event(log, "call.turn", call=conv.sid, state=conv.state, turn=conv.turn)
        return conv.last_response

    def whisper(self, sid: str) -> str:
        """What the representative hears on answering a transfer from call ``sid``."""
        with transaction(self.factory) as db:
            conv = db.get(CallSession, sid)
            prompts = agent_whisper(conv) if conv else (Prompt("agent_whisper_unverified"),)
            return voice_message(prompts, "en-US", hangup=False)

    def status(self, sid: str, call_status: str, now: dt.datetime) -> None:
        """``/voice/status``: on a final status, end the session and drop its working data."""
        if call_status not in FINAL_CALL_STATUSES:
            return
        with transaction(self.factory) as db:
            conv = db.get(CallSession, sid, with_for_update=True)
            if conv is not None and conv.status is SessionStatus.ACTIVE:
                self._end(db, conv, call_status)

    def _end(self, db: Session, conv: CallSession, reason: str) -> None:
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
