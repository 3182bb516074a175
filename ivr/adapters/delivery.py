"""Delivering the outbox: claim what is due, send it, record what happened.

Each message goes through three steps, and the transaction boundaries are the point:

1. *Claim* one due message in a short transaction: ``attempts`` goes up by one and
   ``next_attempt_at`` moves ``CLAIM_LEASE`` ahead, so no other worker sees it as due. On
   PostgreSQL the row is read with ``SELECT ... FOR UPDATE SKIP LOCKED``, so concurrent workers
   claim different rows instead of waiting for each other; on SQLite the write lock taken at
   ``BEGIN`` already serializes claims.
2. *Send* with no transaction open, so no lock is held while Twilio or a mail server is slow
   (on SQLite a held write lock would stall every webhook).
3. *Record* the outcome in a second short transaction: ``sent`` only after the send returned;
   otherwise the error (never the body) and a retry after a backoff (30 s, doubling, at most
   1 h apart), or ``failed`` after ``MAX_ATTEMPTS``. Failed messages are kept for operators.

Delivery is therefore at least once: a worker that dies between 2 and 3 leaves the message
claimed, the lease runs out, and it is sent again. A customer may rarely get a receipt twice,
never zero times. Emails carry a Message-ID derived from the row, so mail systems that
de-duplicate show such a repeat once.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import ssl
from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Final, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from ivr import logs, outbox
from ivr.adapters.telephony import Telephony, TelephonyError
from ivr.config import Settings
from ivr.db import transaction
from ivr.logs import mask_recipient
from ivr.models import OutboxMessage, OutboxStatus

log = logging.getLogger("ivr.adapters.delivery")

MAX_ATTEMPTS: Final = 8
FIRST_RETRY: Final = dt.timedelta(seconds=30)
MAX_RETRY: Final = dt.timedelta(hours=1)
# Far longer than one send can take (Twilio: 10 s timeout; SMTP: 20 s per exchange), so a
# claim never runs out while its worker is still sending.
CLAIM_LEASE: Final = dt.timedelta(minutes=5)
SMTP_TIMEOUT_SECONDS: Final = 20.0
ERROR_CHARS: Final = 200


class DeliveryError(Exception):
    """A sender could not deliver a message; the message says why (never the message body)."""


def retry_delay(attempts: int) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failed attempt."""
    return min(FIRST_RETRY * (1 << (attempts - 1)), MAX_RETRY)


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True, repr=False)
class Envelope:
    """A claimed message as senders see it: a snapshot, since no session is open while sending."""

    id: int
    channel: str
    recipient: str
    subject: str | None
    body: str
    attempt: int
    created_at: dt.datetime

    def __repr__(self) -> str:
        return f"<Envelope {self.id} {self.channel} to {mask_recipient(self.recipient)}>"


class EmailSender(Protocol):
    def send_email(self, to: str, subject: str, body: str, key: str) -> None:
        """Send one plain-text email; raise :class:`DeliveryError` if it was not accepted.

        ``key`` is the same on every attempt for one message (it becomes the Message-ID).
        """


@dataclass(frozen=True, repr=False)
class SmtpEmail:
    """Email through an SMTP relay (``SMTP_*`` settings), one connection per message."""

    host: str
    port: int
    mail_from: str
    username: str = ""
    password: str = ""
    starttls: bool = True
    timeout: float = SMTP_TIMEOUT_SECONDS

    def __repr__(self) -> str:
        return f"<SmtpEmail {self.host}:{self.port}>"

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpEmail:
        return cls(
            host=settings.SMTP_HOST,
            port=settings.SMTP_PORT,
            mail_from=settings.MAIL_FROM,
            username=settings.SMTP_USERNAME,
            password=settings.SMTP_PASSWORD,
            starttls=settings.SMTP_STARTTLS,
        )

    def send_email(self, to: str, subject: str, body: str, key: str) -> None:
        email = EmailMessage()
        email["From"] = self.mail_from
        email["To"] = to
        email["Subject"] = subject
        email["Date"] = formatdate(usegmt=True)
        email["Message-ID"] = f"<{key}@{self.mail_from.rpartition('@')[2] or 'localhost'}>"
        email.set_content(body)
        server = f"{self.host}:{self.port}"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(email)
        except smtplib.SMTPAuthenticationError as error:
            raise DeliveryError(
                f"SMTP server {server} refused the login ({error.smtp_code}); "
                "check SMTP_USERNAME and SMTP_PASSWORD"
            ) from error
        except smtplib.SMTPResponseException as error:
            reply = error.smtp_error
            if isinstance(reply, bytes):
                reply = reply.decode(errors="replace")
            raise DeliveryError(
                f"SMTP server {server} answered {error.smtp_code} {reply}"
            ) from error
        except smtplib.SMTPRecipientsRefused as error:
            raise DeliveryError(f"SMTP server {server} refused the recipient") from error
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(
                f"cannot send through SMTP server {server}: {str(error) or type(error).__name__}; "
                "check SMTP_HOST, SMTP_PORT and SMTP_STARTTLS"
            ) from error


class LogEmail:
    """The email sender when ``SMTP_HOST`` is empty (development): it logs, nothing is sent."""

    def send_email(self, to: str, subject: str, body: str, key: str) -> None:
        logs.event(log, "email.local", to=mask_recipient(to), key=key, chars=len(body))
        logs.event(
            log, "email.local_body", logging.DEBUG, key=key, subject=subject, body=_one_line(body)
        )


@dataclass(frozen=True)
class Senders:
    """One sender per outbox channel."""

    sms: Telephony
    email: EmailSender

    @classmethod
    def from_settings(cls, settings: Settings, sms: Telephony) -> Senders:
        """Texts through ``sms`` (the process's telephony adapter); email over SMTP when
        ``SMTP_HOST`` is set, else the log sender."""
        email = SmtpEmail.from_settings(settings) if settings.SMTP_HOST else LogEmail()
        return cls(sms, email)

    def send(self, message: Envelope) -> None:
        if message.channel == "sms":
            self.sms.send_sms(message.recipient, message.body)
        elif message.channel == "email":
            key = f"outbox.{message.id}.{message.created_at:%Y%m%d%H%M%S%f}"
            self.email.send_email(message.recipient, message.subject or "", message.body, key)
        else:
            raise DeliveryError(f"no sender for channel {message.channel!r}")


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.retried + self.failed

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(
            self.sent + other.sent, self.retried + other.retried, self.failed + other.failed
        )

    def __str__(self) -> str:
        return f"sent {self.sent}, retried {self.retried}, failed {self.failed}"


def deliver_due(
    factory: sessionmaker[Session], senders: Senders, now: dt.datetime, limit: int = 100
) -> DeliveryReport:
    """Send up to ``limit`` messages due at ``now`` (see the module docstring for guarantees)."""
    outcomes: Counter[str] = Counter()
    for _ in range(limit):
        message = _claim(factory, now)
        if message is None:
            break
        outcomes[_record(factory, message, now, _send(senders, message))] += 1
    return DeliveryReport(**outcomes)


def _claim(factory: sessionmaker[Session], now: dt.datetime) -> Envelope | None:
    """Take the oldest due message, counting the attempt and hiding it for ``CLAIM_LEASE``.

    A text to a number that has texted STOP is not sent (carrier rules): it fails at once.
    """
    with transaction(factory) as session:
        while True:
            row = session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.next_attempt_at <= now,
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            if row.channel != "sms" or not outbox.opted_out(session, row.recipient):
                break
            row.status, row.last_error = OutboxStatus.FAILED, "the recipient texted STOP"
            session.flush()
            logs.event(log, "outbox.opted_out", id=row.id, to=mask_recipient(row.recipient))
        row.attempts += 1
        row.next_attempt_at = now + CLAIM_LEASE
        return Envelope(
            row.id, row.channel, row.recipient, row.subject, row.body, row.attempts, row.created_at
        )


def _send(senders: Senders, message: Envelope) -> str | None:
    """Send; ``None`` when it went out, else the reason it did not."""
    if message.attempt > MAX_ATTEMPTS:
        return "the worker stopped during the last attempt; not sent again"
    try:
        senders.send(message)
    except (DeliveryError, TelephonyError) as error:
        return str(error)
    except Exception as error:
        # A bug or an error no sender foresaw: log it in full, but keep it from stalling the queue.
        log.error("event=outbox.unexpected_error id=%s", message.id, exc_info=True)
        return f"unexpected {type(error).__name__}; see the worker log"
    return None


def _record(
    factory: sessionmaker[Session], message: Envelope, now: dt.datetime, problem: str | None
) -> str:
    """Store the outcome of one attempt; returns ``sent``, ``retried`` or ``failed``."""
    fields: dict[str, object] = {
        "id": message.id,
        "channel": message.channel,
        "to": mask_recipient(message.recipient),
        "attempt": message.attempt,
    }
    changes: dict[str, object]
    if problem is None:
        outcome, level = "sent", logging.INFO
        changes = {"status": OutboxStatus.SENT, "sent_at": now}
    else:
        changes = {"last_error": _one_line(problem)[:ERROR_CHARS]}
        if message.attempt >= MAX_ATTEMPTS:
            outcome, level = "failed", logging.ERROR
            changes["status"] = OutboxStatus.FAILED
        else:
            outcome, level = "retried", logging.WARNING
            retry_at = now + retry_delay(message.attempt)
            changes["next_attempt_at"] = retry_at
            fields["next"] = retry_at.isoformat(timespec="seconds")
        fields["error"] = changes["last_error"]
    with transaction(factory) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id).values(changes))
    logs.event(log, f"outbox.{outcome}", level, **fields)
    return outcome
