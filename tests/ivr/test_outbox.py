"""The outbox end to end: enqueue in a transaction, then deliver
(ivr/outbox.py, ivr/adapters/delivery.py,
``ivr worker``), with texts through Twilio's SDK on a fake API and email to a real SMTP server."""

from __future__ import annotations

import datetime as dt
import email
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from twilio.rest import Client

from ivr import outbox
from ivr.adapters.delivery import (
    CLAIM_LEASE,
    FIRST_RETRY,
    MAX_ATTEMPTS,
    MAX_RETRY,
    DeliveryError,
    DeliveryReport,
    Senders,
    SmtpEmail,
    deliver_due,
    retry_delay,
)
from ivr.adapters.telephony import TwilioTelephony
from ivr.db import transaction
from ivr.models import OutboxMessage, OutboxStatus, TextOptOut, utcnow
from tests.support.cli import cli_env, run_ivr
from tests.support.fake_twilio import Failure, FakeTwilio

ACCOUNT_SID = "AC" + "b2" * 16
AUTH_TOKEN = "twilio-test-token"
FROM_NUMBER = "+15005550006"
MAIL_FROM = "billing@riverside.example"
PHONE = "+12025550123"
ADDRESS = "ada@example.com"
SMS_BODY = "Riverside Utilities: payment of $142.50 received. Confirmation 482 913 0057."
EMAIL_BODY = "Thank you for your payment of $142.50.\nConfirmation number: 482 913 0057.\n"
SUBJECT = "Your payment receipt 482 913 0057"


class Inbox:
    """An aiosmtpd handler keeping what it accepted; ``refuse`` rejects every recipient."""

    def __init__(self) -> None:
        self.received: list[Envelope] = []
        self.refuse = False
        self.on_data: Callable[[], None] | None = None  # runs after a message is accepted

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: SmtpSession, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: SmtpSession, envelope: Envelope
    ) -> str:
        self.received.append(envelope)
        if self.on_data is not None:
            self.on_data()
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(e.original_content or b"", policy=default_policy)
            for e in self.received
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on 127.0.0.1, stopped after the test."""
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def twilio() -> FakeTwilio:
    return FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)


@pytest.fixture
def senders(twilio: FakeTwilio, inbox: tuple[Inbox, int]) -> Senders:
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=twilio)
    smtp = SmtpEmail("127.0.0.1", inbox[1], MAIL_FROM, starttls=False)
    return Senders(TwilioTelephony(client, FROM_NUMBER), smtp)


def enqueue_receipts(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        outbox.enqueue(session, "sms", PHONE, SMS_BODY)
        outbox.enqueue(session, "email", ADDRESS, EMAIL_BODY, subject=SUBJECT)


def rows(factory: sessionmaker[Session]) -> list[OutboxMessage]:
    with transaction(factory) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_enqueue_lands_with_the_callers_transaction_or_not_at_all(
    standalone_factory: sessionmaker[Session],
) -> None:
    before = utcnow()
    enqueue_receipts(standalone_factory)
    with pytest.raises(RuntimeError), transaction(standalone_factory) as session:
        outbox.enqueue(session, "sms", PHONE, "never sent")
        raise RuntimeError("the payment failed after all")

    sms, mail = rows(standalone_factory)
    assert (sms.channel, sms.recipient, sms.body, sms.subject) == ("sms", PHONE, SMS_BODY, None)
    assert (mail.channel, mail.recipient, mail.subject) == ("email", ADDRESS, SUBJECT)
    for message in (sms, mail):
        assert (message.status, message.attempts, message.sent_at) == (
            OutboxStatus.PENDING,
            0,
            None,
        )
        assert before <= message.next_attempt_at <= utcnow()


@pytest.mark.parametrize(
    ("channel", "recipient", "subject", "problem"),
    [
        ("fax", PHONE, None, "unknown outbox channel 'fax'"),
        ("sms", "", None, "needs a recipient"),
        ("email", ADDRESS, None, "an email needs a subject"),
    ],
)
def test_enqueue_refuses_what_cannot_be_delivered(
    channel: Any, recipient: str, subject: str | None, problem: str
) -> None:
    with Session() as session, pytest.raises(ValueError, match=problem):
        outbox.enqueue(session, channel, recipient, "body", subject=subject)


def test_due_messages_go_out_by_sms_and_email_and_are_marked_sent(
    standalone_factory: sessionmaker[Session],
    senders: Senders,
    twilio: FakeTwilio,
    inbox: tuple[Inbox, int],
) -> None:
    enqueue_receipts(standalone_factory)
    now = utcnow()

    assert deliver_due(standalone_factory, senders, now) == DeliveryReport(sent=2)

    [sms] = twilio.messages
    assert (sms["to"], sms["from"], sms["body"]) == (PHONE, FROM_NUMBER, SMS_BODY)
    handler, _ = inbox
    [envelope] = handler.received
    assert (envelope.mail_from, envelope.rcpt_tos) == (MAIL_FROM, [ADDRESS])
    [mail] = handler.messages()
    assert (mail["From"], mail["To"], mail["Subject"]) == (MAIL_FROM, ADDRESS, SUBJECT)
    assert mail.get_content().replace("\r\n", "\n") == EMAIL_BODY
    assert mail["Message-ID"].endswith("@riverside.example>")
    for row in rows(standalone_factory):
        assert (row.status, row.sent_at, row.attempts) == (OutboxStatus.SENT, now, 1)
    assert deliver_due(standalone_factory, senders, now + MAX_RETRY) == DeliveryReport()


def test_a_failed_send_is_retried_later_and_then_delivered(
    standalone_factory: sessionmaker[Session], senders: Senders, twilio: FakeTwilio
) -> None:
    with transaction(standalone_factory) as session:
        outbox.enqueue(session, "sms", PHONE, SMS_BODY)
    twilio.sms_failure = Failure(503, 20503, "Service Unavailable")
    now = utcnow()

    assert deliver_due(standalone_factory, senders, now) == DeliveryReport(retried=1)
    [row] = rows(standalone_factory)
    assert (row.status, row.attempts, row.sent_at) == (OutboxStatus.PENDING, 1, None)
    assert row.next_attempt_at == now + FIRST_RETRY
    assert row.last_error is not None and "HTTP 503, error 20503" in row.last_error
    assert "142.50" not in row.last_error

    twilio.sms_failure = None
    almost = now + FIRST_RETRY - dt.timedelta(seconds=1)
    assert deliver_due(standalone_factory, senders, almost) == DeliveryReport()
    later = now + FIRST_RETRY
    assert deliver_due(standalone_factory, senders, later) == DeliveryReport(sent=1)
    [row] = rows(standalone_factory)
    assert (row.status, row.attempts, row.sent_at) == (OutboxStatus.SENT, 2, later)
    assert [m["body"] for m in twilio.messages] == [SMS_BODY]


def test_an_email_the_server_refuses_is_retried_with_its_reply(
    standalone_factory: sessionmaker[Session], senders: Senders, inbox: tuple[Inbox, int]
) -> None:
    handler, port = inbox
    handler.refuse = True
    with transaction(standalone_factory) as session:
        outbox.enqueue(session, "email", ADDRESS, EMAIL_BODY, subject=SUBJECT)

    assert deliver_due(standalone_factory, senders, utcnow()) == DeliveryReport(retried=1)
    [row] = rows(standalone_factory)
    assert row.last_error == f"SMTP server 127.0.0.1:{port} refused the recipient"
    assert handler.received == []


def accept_mailer(
    server: SMTP, session: SmtpSession, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    return AuthResult(success=auth_data == LoginPassword(b"mailer", b"s3cret"), handled=False)


@pytest.fixture
def login_inbox() -> Iterator[tuple[Inbox, int]]:
    """An SMTP server that wants a login (over plain TCP: this one runs on the loopback only)."""
    handler = Inbox()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=accept_mailer,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def test_smtp_logs_in_when_a_username_is_set(login_inbox: tuple[Inbox, int]) -> None:
    handler, port = login_inbox
    good = SmtpEmail("127.0.0.1", port, MAIL_FROM, "mailer", "s3cret", starttls=False)
    good.send_email(ADDRESS, SUBJECT, EMAIL_BODY, key="outbox.1.x")
    [mail] = handler.messages()
    assert (mail["Subject"], mail["Message-ID"]) == (SUBJECT, "<outbox.1.x@riverside.example>")

    wrong = SmtpEmail("127.0.0.1", port, MAIL_FROM, "mailer", "guess", starttls=False)
    with pytest.raises(DeliveryError) as raised:
        wrong.send_email(ADDRESS, SUBJECT, EMAIL_BODY, key="outbox.2.x")
    assert str(raised.value) == (
        f"SMTP server 127.0.0.1:{port} refused the login (535); "
        "check SMTP_USERNAME and SMTP_PASSWORD"
    )
    assert len(handler.received) == 1


def test_backoff_doubles_from_30_seconds_up_to_an_hour() -> None:
    delays = [retry_delay(n).total_seconds() for n in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_after_max_attempts_a_message_is_failed_and_kept(
    standalone_factory: sessionmaker[Session], senders: Senders, twilio: FakeTwilio
) -> None:
    with transaction(standalone_factory) as session:
        outbox.enqueue(session, "sms", PHONE, SMS_BODY)
    twilio.sms_failure = Failure(400, 21610, "Attempt to send to unsubscribed recipient")
    now = utcnow()
    reports = []
    for _ in range(MAX_ATTEMPTS + 2):
        reports.append(deliver_due(standalone_factory, senders, now))
        now += MAX_RETRY

    assert reports == [DeliveryReport(retried=1)] * (MAX_ATTEMPTS - 1) + [
        DeliveryReport(failed=1),
        DeliveryReport(),
        DeliveryReport(),
    ]
    [row] = rows(standalone_factory)
    assert (row.status, row.attempts, row.sent_at) == (OutboxStatus.FAILED, MAX_ATTEMPTS, None)
    assert row.last_error is not None and "error 21610" in row.last_error
    assert len(twilio.requests) == MAX_ATTEMPTS


class Crash(BaseException):
    """The worker process dying (as on SIGKILL): nothing in the worker may catch it."""


def crash(_message: dict[str, Any]) -> None:
    raise Crash


def test_a_crash_after_sending_resends_once_the_claim_expires(
    standalone_factory: sessionmaker[Session], senders: Senders, twilio: FakeTwilio
) -> None:
    with transaction(standalone_factory) as session:
        outbox.enqueue(session, "sms", PHONE, SMS_BODY)
    now = utcnow()
    twilio.after_message = crash  # Twilio sent it; the worker died before recording that

    with pytest.raises(Crash):
        deliver_due(standalone_factory, senders, now)
    twilio.after_message = None
    [row] = rows(standalone_factory)
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)

    assert deliver_due(standalone_factory, senders, now + CLAIM_LEASE / 2) == DeliveryReport()
    assert deliver_due(standalone_factory, senders, now + CLAIM_LEASE) == DeliveryReport(sent=1)
    assert [m["body"] for m in twilio.messages] == [SMS_BODY, SMS_BODY]  # at least once


def test_a_crash_during_the_last_attempt_fails_the_message_without_sending(
    standalone_factory: sessionmaker[Session], senders: Senders, twilio: FakeTwilio
) -> None:
    with transaction(standalone_factory) as session:
        outbox.enqueue(session, "sms", PHONE, SMS_BODY).attempts = MAX_ATTEMPTS

    assert deliver_due(standalone_factory, senders, utcnow()) == DeliveryReport(failed=1)
    [row] = rows(standalone_factory)
    assert row.status is OutboxStatus.FAILED
    assert row.last_error == "the worker stopped during the last attempt; not sent again"
    assert twilio.requests == []


class BrokenEmail:
    def send_email(self, to: str, subject: str, body: str, key: str) -> None:
        raise AttributeError("'NoneType' object has no attribute 'encode'")  # a bug


def test_an_unexpected_sender_error_is_retried_without_stalling_the_others(
    standalone_factory: sessionmaker[Session],
    senders: Senders,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ivr")
    enqueue_receipts(standalone_factory)
    broken = Senders(senders.sms, BrokenEmail())

    report = deliver_due(standalone_factory, broken, utcnow())

    assert report == DeliveryReport(sent=1, retried=1)
    sms, mail = rows(standalone_factory)
    assert sms.status is OutboxStatus.SENT
    assert mail.status is OutboxStatus.PENDING
    assert mail.last_error == "unexpected AttributeError; see the worker log"
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert error.getMessage() == f"event=outbox.unexpected_error id={mail.id}"
    assert error.exc_info is not None


def postgres_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE); the race needs PostgreSQL")


@pytest.mark.postgres_only
def test_concurrent_workers_send_each_message_exactly_once(
    standalone_factory: sessionmaker[Session],
    standalone_engine: Engine,
    senders: Senders,
    twilio: FakeTwilio,
) -> None:
    postgres_only(standalone_engine)
    count = 30
    with transaction(standalone_factory) as session:
        for n in range(count):
            outbox.enqueue(session, "sms", PHONE, f"message {n}")
    both_sending = threading.Barrier(2, timeout=30)
    held = threading.local()

    def hold_each_worker_once(_message: dict[str, Any]) -> None:
        """Keep each worker at its first send until the other is sending too."""
        if not getattr(held, "done", False):
            held.done = True
            both_sending.wait()

    twilio.after_message = hold_each_worker_once
    now = utcnow()
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(deliver_due, standalone_factory, senders, now, count) for _ in range(2)
        ]
        reports = [future.result(timeout=60) for future in futures]

    assert sorted(m["body"] for m in twilio.messages) == sorted(
        f"message {n}" for n in range(count)
    )
    assert reports[0] + reports[1] == DeliveryReport(sent=count)
    assert all(report.sent > 0 for report in reports)
    assert {row.status for row in rows(standalone_factory)} == {OutboxStatus.SENT}


@pytest.mark.postgres_only
def test_a_message_locked_by_another_worker_is_skipped_not_waited_for(
    standalone_factory: sessionmaker[Session],
    standalone_engine: Engine,
    senders: Senders,
    twilio: FakeTwilio,
) -> None:
    postgres_only(standalone_engine)
    with transaction(standalone_factory) as session:
        first = outbox.enqueue(session, "sms", PHONE, "first")
        outbox.enqueue(session, "sms", PHONE, "second")
    now = utcnow()

    with transaction(standalone_factory) as other_worker:
        other_worker.get(OutboxMessage, first.id, with_for_update=True)
        assert deliver_due(standalone_factory, senders, now) == DeliveryReport(sent=1)
    assert deliver_due(standalone_factory, senders, now) == DeliveryReport(sent=1)
    assert [m["body"] for m in twilio.messages] == ["second", "first"]


def test_worker_once_delivers_what_is_due_and_is_quiet_when_nothing_is(
    database_url: str,
    standalone_factory: sessionmaker[Session],
    inbox: tuple[Inbox, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler, port = inbox
    enqueue_receipts(standalone_factory)
    env = cli_env(database_url, SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_STARTTLS="false")

    result = run_ivr(["worker", "--once"], env)

    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("sent 2, retried 0, failed 0")
    assert "event=sms.local to=***0123" in caplog.text
    assert SMS_BODY not in caplog.text
    [mail] = handler.messages()
    assert (mail["To"], mail["Subject"]) == (ADDRESS, SUBJECT)
    assert {row.status for row in rows(standalone_factory)} == {OutboxStatus.SENT}

    again = run_ivr(["worker", "--once"], env)
    assert (again.exit_code, again.stdout) == (0, "")


def test_worker_refuses_an_unknown_telephony_setting(database_url: str) -> None:
    result = run_ivr(["worker", "--once"], cli_env(database_url, TELEPHONY="carrier-pigeon"))

    assert result.exit_code == 2
    assert "TELEPHONY='carrier-pigeon' is unknown; use one of: local, twilio." in result.stderr


def test_worker_once_on_a_database_without_tables_says_what_to_run(tmp_path: Path) -> None:
    result = run_ivr(["worker", "--once"], cli_env(f"sqlite:///{tmp_path / 'new.sqlite3'}"))

    assert result.exit_code == 1
    assert "cannot use the outbox database (no such table: " in result.stderr
    assert "run `ivr db upgrade` if the database is new" in result.stderr


def test_worker_finishes_its_pass_on_sigterm_and_prints_a_summary(
    database_url: str, standalone_factory: sessionmaker[Session], inbox: tuple[Inbox, int]
) -> None:
    handler, port = inbox
    with transaction(standalone_factory) as session:
        outbox.enqueue(session, "email", ADDRESS, EMAIL_BODY, subject=SUBJECT)
    # The mail server receiving the message is the moment systemd asks the worker to stop.
    handler.on_data = lambda: os.kill(os.getpid(), signal.SIGTERM)
    env = cli_env(database_url, SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_STARTTLS="false")

    def not_handled(_signum: int, _frame: Any) -> None:
        raise AssertionError("ivr worker did not handle SIGTERM")

    previous = signal.signal(signal.SIGTERM, not_handled)
    try:
        result = run_ivr(["worker", "--interval", "60"], env)
        assert signal.getsignal(signal.SIGTERM) is not_handled  # the worker put it back
    finally:
        signal.signal(signal.SIGTERM, previous)

    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("Stopped after 1 pass: sent 1, retried 0, failed 0.")
    [row] = rows(standalone_factory)
    assert row.status is OutboxStatus.SENT


def test_a_number_that_texted_stop_gets_no_texts_but_its_email_still_goes(
    standalone_factory: sessionmaker[Session], senders: Senders, twilio: FakeTwilio
) -> None:
    other_phone = "+15005550007"
    with transaction(standalone_factory) as session:
        session.add(TextOptOut(phone=PHONE, opted_out_at=utcnow()))
        outbox.enqueue(session, "sms", PHONE, SMS_BODY)
        outbox.enqueue(session, "sms", other_phone, SMS_BODY)
        outbox.enqueue(session, "email", ADDRESS, EMAIL_BODY, subject=SUBJECT)

    assert deliver_due(standalone_factory, senders, utcnow()) == DeliveryReport(sent=2)

    assert [message["to"] for message in twilio.messages] == [other_phone]
    with transaction(standalone_factory) as session:
        stopped = session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient == PHONE)
        ).one()
        assert (stopped.status, stopped.last_error, stopped.attempts) == (
            OutboxStatus.FAILED,
            "the recipient texted STOP",
            0,
        )
