"""Text conversations: one message in, one flow event applied, one ``<Message>`` out.

A conversation is keyed by the sender's number (a ``call_sessions`` row with channel ``sms``),
and starts over after ``TEXT_SESSION_IDLE_MINUTES`` of silence. The row is locked for each
message, so two texts sent at once from one phone are answered one after the other.

Twilio's retries are recognised by MessageSid: ``text_messages`` keeps each reply, and a
repeated webhook gets it again, unchanged, without touching the conversation. A reply carrying
a pay link is kept without the link's token and re-made on a replay. Message bodies are never
stored or logged.

A saved-card payment, like the voice line's, is asked for on a turn (``Turn.authorize``),
committed, and charged by the payment service between this module's transactions; the
charge's idempotency key is the MessageSid, so a replay that arrives while it runs (or after
a crash) finishes the same charge instead of making a second.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from flows import Context, Turn
from flows.engine import DONE, Authorized, Resume
from flows.text import CHANNEL, TEXT_FLOW, converse, forget, paylink_sent
from ivr import logs
from ivr.channels.text_replies import message_twiml, text_of
from ivr.config import Settings
from ivr.db import insert_on_conflict, lock_row, transaction
from ivr.logs import mask_phone
from ivr.models import Conversation, PayLink, SessionStatus, TextMessage
from payments import paylinks
from payments.service import PaymentService
from prompts import Prompt
from verification import normalize_phone

log = logging.getLogger("ivr.channels.text_replies")

LINK_PLACEHOLDER = "[paylink]"


def session_sid(phone: str) -> str:
    return f"{CHANNEL}:{phone}"


@dataclass(frozen=True)
class TextSessions:
    factory: sessionmaker[Session]
    settings: Settings
    payments: PaymentService

    def _idle(self, now: dt.datetime) -> dt.datetime:
        return now + dt.timedelta(minutes=self.settings.TEXT_SESSION_IDLE_MINUTES)

    def _context(self, db: Session, phone: str, message_sid: str, now: dt.datetime) -> Context:
        return Context(db, self.settings, phone, f"{CHANNEL}:{message_sid}", now, self.payments)

    def receive(self, message_sid: str, sender: str | None, body: str, now: dt.datetime) -> str:
        """``/sms/incoming``: the TwiML reply to one inbound text."""
        phone = normalize_phone(sender, self.settings.DEFAULT_REGION)
        if phone is None:
            logs.event(log, "text.unusable_sender", message=message_sid)
            return message_twiml(None)
        with transaction(self.factory) as db:
            conv = self._locked(db, phone, now)
            answered = self._answered(db, message_sid)
            if answered is not None:
                return answered
            ctx = self._context(db, phone, message_sid, now)
            if db.get(TextMessage, message_sid) is None:
                db.add(TextMessage(message_sid=message_sid, phone=phone, received_at=now))
                restarted = self._restart_if_idle(conv, now)
                turn = converse(conv, ctx, body)
                if turn is None or not turn.resume:
                    return self._respond(db, conv, message_sid, turn, restarted, now)
            # A charge is due: this message asked for it, or is a retry of one that did.
            turn = TEXT_FLOW.handle(conv, ctx, Resume())
            if turn.authorize is None:
                return self._respond(db, conv, message_sid, turn, False, now)
        settled = self.payments.authorize(turn.authorize, now)
        with transaction(self.factory) as db:
            conv = self._locked(db, phone, now)
            answered = self._answered(db, message_sid)
            if answered is not None:
                return answered
            event = Authorized(db.merge(settled, load=False))  # as settled: not read again
            turn = TEXT_FLOW.handle(conv, self._context(db, phone, message_sid, now), event)
            return self._respond(db, conv, message_sid, turn, False, now)

    def _answered(self, db: Session, message_sid: str) -> str | None:
        """The reply already given to this message (Twilio's retry), if any."""
        seen = db.get(TextMessage, message_sid, populate_existing=True)
        if seen is None or seen.reply is None:
            return None
        logs.event(log, "text.replay", message=message_sid, phone=mask_phone(seen.phone))
        return self._replay(db, seen)

    def _locked(self, db: Session, phone: str, now: dt.datetime) -> Conversation:
        """The sender's conversation row, created if new, locked until commit."""
        sid = session_sid(phone)
        db.execute(
            insert_on_conflict(db, Conversation)
            .values(
                sid=sid,
                channel=CHANNEL,
                caller=phone,
                language=self.settings.DEFAULT_LANGUAGE,
                state="new",
                data={},
                verified=False,
                turn=0,
                status=SessionStatus.ACTIVE,
                created_at=now,
                updated_at=now,
                expires_at=self._idle(now),
            )
            .on_conflict_do_nothing(index_elements=["sid"])
        )
        conv = lock_row(db, Conversation, sid)
        assert conv is not None
        return conv

    def _restart_if_idle(self, conv: Conversation, now: dt.datetime) -> bool:
        """Forget a conversation idle too long; ``True`` if there was one to forget."""
        if conv.expires_at > now:
            return False
        was_going = conv.state not in ("new", DONE)
        forget(conv)
        conv.language = self.settings.DEFAULT_LANGUAGE
        logs.event(log, "text.expired", phone=mask_phone(conv.caller or ""))
        return was_going

    def _respond(
        self,
        db: Session,
        conv: Conversation,
        message_sid: str,
        turn: Turn | None,
        restarted: bool,
        now: dt.datetime,
    ) -> str:
        conv.turn += 1
        conv.expires_at = self._idle(now)
        message = db.get(TextMessage, message_sid)
        assert message is not None
        text = ""
        if turn is not None:
            said = ((Prompt("text_restarted"),) if restarted else ()) + turn.say
            text = text_of(said, conv.language)
        link_id = paylink_sent(conv)
        if link_id is not None:
            link = db.get(PayLink, link_id)
            assert link is not None
            text = text.replace(
                paylinks.token_for(self.settings.SECRET_KEY, link), LINK_PLACEHOLDER
            )
            message.paylink_id = link_id
        message.reply = text
        logs.event(
            log,
            "text.turn",
            message=message_sid,
            phone=mask_phone(conv.caller or ""),
            state=conv.state,
            turn=conv.turn,
            replied=bool(text),
        )
        return self._replay(db, message)

    def _replay(self, db: Session, message: TextMessage) -> str:
        """The stored reply, with its pay link (if any) made again from the link's row."""
        text = message.reply or ""
        if message.paylink_id is not None:
            link = db.get(PayLink, message.paylink_id)
            assert link is not None
            text = text.replace(
                LINK_PLACEHOLDER, paylinks.token_for(self.settings.SECRET_KEY, link)
            )
        return message_twiml(text or None)
