"""``ivr arrangements``: keeping payment arrangements (charges, reminders, kept and broken)."""

from __future__ import annotations

import datetime as dt

import click

from ivr.cli.common import Runtime, pass_runtime
from ivr.config import ConfigError
from ivr.models import utcnow
from ivr.notices import promise_notices
from ivr.wiring import build_payments
from payments import promises


@click.group()
def arrangements() -> None:
    """Payment arrangements made by phone: extensions and installment plans."""


def run_promises(runtime: Runtime, now: dt.datetime) -> promises.RunReport:
    """One pass over every active arrangement (shared with ``ivr worker``)."""
    try:
        policy = promises.PromisePolicy.from_settings(runtime.settings)
        service = build_payments(runtime.settings, runtime.factory)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    notify = promise_notices(runtime.settings.COMPANY_NAME)
    return promises.run(runtime.factory, service, policy, now, notify)


@arrangements.command("run")
@pass_runtime
def run(runtime: Runtime) -> None:
    """Charge installments that are due, send reminders, and mark promises kept or broken.

    Every active arrangement is reviewed in its account's time zone:

    \b
    - An installment is met when payments made since the arrangement add up to what was
      promised through it, however they were paid; an early payment is never charged again.
    - A plan with a card on file has each installment charged on its date with the stored
      card. A declined charge is tried again INSTALLMENT_RETRY_DAYS later; after
      INSTALLMENT_ATTEMPTS declines the arrangement is broken.
    - An extension, or a plan without a card on file, is broken the day after a date passes
      unmet.
    - A reminder goes out REMINDER_DAYS before each date (0: none), once; notices of failed
      charges and of kept and broken arrangements too, by text and email through the outbox
      (`ivr worker` delivers them).

    A broken arrangement counts against new ones (MAX_BROKEN_PROMISES). `ivr worker` runs this
    on each pass; running it again, or on several hosts at once, never charges twice: each
    charge is written to the ledger with its idempotency key before the gateway is asked, and
    a charge whose outcome is unknown is left to `ivr reconcile`.

    Prints one line of counts. Exit status 0, or 2 on bad configuration.
    """
    report = run_promises(runtime, utcnow())
    click.echo(f"Arrangements: {report}.")
