"""``ivr worker``: deliver the outbox (receipts and notices, by SMS and email)."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any, Final

import click
from sqlalchemy.exc import DBAPIError

from ivr import logs
from ivr.adapters.delivery import CLAIM_LEASE, MAX_ATTEMPTS, DeliveryReport, deliver_due
from ivr.channels.bank_notices import return_notices
from ivr.cli.arrangements import run_promises
from ivr.cli.common import Runtime, pass_runtime
from ivr.models import utcnow
from payments import bank_debits, capture

log = logging.getLogger("ivr.worker")

BATCH: Final = 100

WORKER_HELP = f"""Deliver the outbox: receipts and notices that payments queued, by SMS and email.

Each pass first keeps payment arrangements up to date, exactly as `ivr arrangements run`
does (installment charges, reminders, kept and broken promises), so their notices go out in
the same pass. It then asks the bank rail (BANK_RAIL) where each accepted bank debit is:
submitted, settled, or returned by the bank, which puts the amount back on the balance and
tells the customer by text and email. It also deletes encrypted card fields past their time-to-live
(CAPTURE_TTL_MINUTES), such as those of a call whose end Twilio never reported.

Each pass sends every pending message that is due and marks it sent. A message that cannot be
sent is tried again 30 seconds later, then at doubling intervals (at most an hour apart); after
{MAX_ATTEMPTS} attempts it is marked failed and kept for the operators, with its last error.
A one-line summary is printed for each pass that did something; each message is logged on
stderr (grep event=outbox).

Run one worker next to the web workers (a systemd unit, a container), or `ivr worker --once`
from cron every minute. Several workers may share a PostgreSQL database: they never send the
same message at the same time. Delivery is at least once: a worker killed between sending a
message and recording it sends that message again {CLAIM_LEASE.seconds // 60} minutes later.

Ctrl-C or SIGTERM finishes the current pass, prints a summary and exits; a second Ctrl-C stops
at once. A database that cannot be reached is logged and tried again on the next pass.

\b
Settings:
  DATABASE_URL         the database holding the outbox
  TELEPHONY            local (default: log texts, send nothing) or twilio
  TWILIO_ACCOUNT_SID   for TELEPHONY=twilio, with TWILIO_AUTH_TOKEN
  TWILIO_FROM_NUMBER   the number texts come from
  SMTP_HOST            mail relay; empty (default) logs emails instead of sending them
  SMTP_PORT            default 587
  SMTP_STARTTLS        true (default) to upgrade the connection to TLS before logging in
  SMTP_USERNAME        log in when set, with SMTP_PASSWORD
  MAIL_FROM            the From address of every email
  LOG_LEVEL            INFO logs each message (recipients masked, bodies never)

\b
Exit status:
  0  stopped on request, or --once delivered what was due (failures are retried later)
  1  --once could not reach the database
  2  bad usage or configuration (e.g. an unknown TELEPHONY)
"""


@click.command(help=WORKER_HELP)
@click.option(
    "--interval",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    help="Seconds to wait between passes.",
)
@click.option("--once", is_flag=True, help="Deliver what is due, then exit (for cron and tests).")
@pass_runtime
def worker(runtime: Runtime, interval: float, once: bool) -> None:
    settings = runtime.settings
    logs.configure(settings.LOG_LEVEL)

    def one_pass() -> DeliveryReport:
        kept = run_promises(runtime, utcnow())
        now = utcnow()  # after the promises, so the notices they queued are due too
        if kept.total:
            click.echo(f"{now:%Y-%m-%dT%H:%M:%SZ} arrangements: {kept}")
        rail = runtime.services.payments.rail
        if rail is not None:
            notify = return_notices(settings.COMPANY_NAME)
            moved = bank_debits.track_all(runtime.factory, rail, now.date(), now, notify)
            if moved:
                counts = ", ".join(f"{state.value} {n}" for state, n in sorted(moved.items()))
                click.echo(f"{now:%Y-%m-%dT%H:%M:%SZ} bank debits: {counts}")
        with runtime.transaction() as session:
            wiped = capture.purge_expired(session, now)
        if wiped:
            click.echo(f"{now:%Y-%m-%dT%H:%M:%SZ} expired card captures deleted: {wiped}")
        report = deliver_due(runtime.factory, runtime.services.senders, now, BATCH)
        if report.total:
            click.echo(f"{now:%Y-%m-%dT%H:%M:%SZ} {report}")
        return report

    if once:
        try:
            while one_pass().total == BATCH:  # a full batch: more may be due
                pass
        except DBAPIError as error:
            raise click.ClickException(_database_problem(error)) from None
        return

    stop = threading.Event()
    restore = _stop_on_signals(stop)
    total, passes = DeliveryReport(), 0
    try:
        while not stop.is_set():
            report = DeliveryReport()
            try:
                report = one_pass()
            except DBAPIError as error:
                logs.event(log, "worker.db_error", logging.ERROR, error=_database_problem(error))
            total, passes = total + report, passes + 1
            if report.total < BATCH:  # after a full batch, go on at once
                stop.wait(interval)
    except KeyboardInterrupt:
        pass
    finally:
        restore()
    click.echo(f"Stopped after {passes} pass{'' if passes == 1 else 'es'}: {total}.")


def _stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    """Make SIGTERM and the first Ctrl-C set ``stop``; returns what puts the old handlers back."""

    def handle(_signum: int, _frame: Any) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C: at once

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def _database_problem(error: DBAPIError) -> str:
    lines = str(error.orig).strip().splitlines()
    reason = lines[0] if lines else type(error.orig).__name__
    return (
        f"cannot use the outbox database ({reason}). Check DATABASE_URL, "
        "and run `ivr db upgrade` if the database is new."
    )
