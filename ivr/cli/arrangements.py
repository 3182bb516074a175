"""``ivr arrangements``: keeping payment arrangements (charges, reminders, kept and broken)."""

from __future__ import annotations

import datetime as dt

import click
from sqlalchemy import Row, select
from sqlalchemy.orm import selectinload

from ivr.channels.arrangement_notices import promise_notices
from ivr.cli import listing
from ivr.cli.accounts import money
from ivr.cli.common import Runtime, pass_runtime
from ivr.cli.listing import Column
from ivr.models import (
    Account,
    Arrangement,
    ArrangementStatus,
    InstallmentStatus,
    Payment,
    utcnow,
)
from payments import promises


@click.group()
def arrangements() -> None:
    """Payment arrangements made by phone: extensions and installment plans."""


def run_promises(runtime: Runtime, now: dt.datetime) -> promises.RunReport:
    """One pass over every active arrangement (shared with ``ivr worker``)."""
    policy = promises.PromisePolicy.from_settings(runtime.settings)
    notify = promise_notices(runtime.settings.COMPANY_NAME)
    return promises.run(runtime.factory, runtime.services.payments, policy, now, notify)


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


@arrangements.command("list")
@click.option("--account", "account_number", help="Only this account number.")
@click.option(
    "--status",
    type=click.Choice([s.value for s in ArrangementStatus]),
    help="Only arrangements in this state.",
)
@click.option("--limit", default=50, show_default=True, help="Newest N arrangements.")
@pass_runtime
def list_(runtime: Runtime, account_number: str | None, status: str | None, limit: int) -> None:
    """List arrangements, newest first, with how far each has been kept.

    \b
    Columns: id, made (UTC), account, kind, status, amount, installments paid of all, the
    next unmet date and amount, who pays (the card on file, or the caller), and the
    confirmation number the caller was given.
    """
    query = listing.newest_first(
        select(Arrangement, Account.number, Payment.last4)
        .join(Account, Account.id == Arrangement.account_id)
        .outerjoin(Payment, Payment.id == Arrangement.card_payment_id)
        .options(selectinload(Arrangement.installments)),
        Arrangement,
        limit=limit,
        account_number=account_number,
        status=ArrangementStatus(status) if status else None,
    )
    with runtime.transaction() as session:
        rows = session.execute(query).all()
    if not rows:
        click.echo("No arrangements match.")
        return
    listing.echo(ARRANGEMENT_COLUMNS, map(_arrangement_row, rows))


ARRANGEMENT_COLUMNS = (
    Column("id", 6, right=True),
    Column("made (UTC)", 16),
    Column("account", 10),
    Column("kind", 12),
    Column("status", 9),
    Column("amount", 11, right=True),
    Column("paid", 5),
    Column("next", 22),
    Column("paid by", 11),
    Column("confirmation"),
)


def _arrangement_row(row: Row[Arrangement, str, str | None]) -> tuple[object, ...]:
    made, number, last4 = row
    paid = sum(1 for i in made.installments if i.status is InstallmentStatus.PAID)
    unmet = [i for i in made.installments if i.status is InstallmentStatus.SCHEDULED]
    following = f"{unmet[0].due_date} {money(unmet[0].amount_cents)}" if unmet else "-"
    return (
        made.id, f"{made.created_at:%Y-%m-%d %H:%M}", number, made.kind.value,
        made.status.value, money(made.amount_cents), f"{paid}/{len(made.installments)}",
        following, f"card ...{last4}" if last4 else "caller", made.confirmation_number,
    )  # fmt: skip
