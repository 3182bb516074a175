"""``ivr payments`` and ``ivr reconcile``: reading and settling the ledger."""

from __future__ import annotations

import datetime as dt

import click
from sqlalchemy import select

from ivr.cli import listing
from ivr.cli.accounts import money
from ivr.cli.common import Runtime, pass_runtime
from ivr.cli.listing import Column
from ivr.models import Account, Payment, PaymentStatus, utcnow
from payments.service import RECONCILE_AFTER


@click.group()
def payments() -> None:
    """Read the payment ledger."""


@payments.command("list")
@click.option("--account", "account_number", help="Only this account number.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only payments created on or after this UTC date (YYYY-MM-DD).",
)
@click.option(
    "--status",
    type=click.Choice([s.value for s in PaymentStatus]),
    help="Only payments in this state.",
)
@click.option("--limit", default=50, show_default=True, help="Newest N payments.")
@pass_runtime
def list_(
    runtime: Runtime,
    account_number: str | None,
    since: dt.datetime | None,
    status: str | None,
    limit: int,
) -> None:
    """List payments, newest first, with cards masked to brand and last four.

    \b
    Columns: id, created (UTC), account, amount, fee, status (with the decline reason),
    card, confirmation number. Amounts are what the account was credited; the fee is
    charged on top.
    """
    query = listing.newest_first(
        select(Payment, Account.number).join(Account),
        Payment,
        limit=limit,
        account_number=account_number,
        status=PaymentStatus(status) if status else None,
        since=since,
    )
    with runtime.transaction() as session:
        rows = session.execute(query).all()
        if not rows:
            click.echo("No payments match.")
            return
        listing.echo(PAYMENT_COLUMNS, (_payment_row(payment, number) for payment, number in rows))


PAYMENT_COLUMNS = (
    Column("id", 6, right=True),
    Column("created (UTC)", 16),
    Column("account", 10),
    Column("amount", 11, right=True),
    Column("fee", 8, right=True),
    Column("status", 28),
    Column("card", 20),
    Column("confirmation"),
)


def _payment_row(payment: Payment, number: str) -> tuple[object, ...]:
    state = payment.status.value
    if payment.decline_reason:
        state += f" ({payment.decline_reason})"
    card = f"{payment.brand or 'card'} ...{payment.last4}" if payment.last4 else "-"
    return (
        payment.id, f"{payment.created_at:%Y-%m-%d %H:%M}", number, money(payment.amount_cents),
        money(payment.fee_cents), state, card, payment.confirmation_number or "-",
    )  # fmt: skip


@click.command()
@click.option(
    "--older-than",
    default=int(RECONCILE_AFTER.total_seconds() // 60),
    show_default=True,
    help="Minutes a payment must have waited before it is settled from the gateway's books.",
)
@pass_runtime
def reconcile(runtime: Runtime, older_than: int) -> None:
    """Settle payments whose outcome we do not know, by asking the gateway.

    A payment is written as pending before the gateway is called. If the process died, the
    gateway timed out (status unknown) or the caller hung up at the wrong moment, the row
    stays unsettled. This command asks the gateway what happened to each such payment by its
    idempotency key (never charging anything) and records the answer: approved payments get
    their confirmation number and reduce the balance; payments the gateway never saw are
    marked failed. Run it every few minutes from cron; running it twice changes nothing.

    Exit status 0 when every payment was settled, 1 when some are still unknown (the gateway
    could not be reached: run it again later).
    """
    results = runtime.services.payments.reconcile(utcnow(), dt.timedelta(minutes=older_than))
    for item in results:
        click.echo(f"payment {item.payment_id}: {item.before.value} -> {item.after.value}")
    unsettled = [r for r in results if r.after in (PaymentStatus.UNKNOWN, PaymentStatus.PENDING)]
    click.echo(f"Reconciled {len(results)} payments; {len(unsettled)} still unsettled.")
    if unsettled:
        raise SystemExit(1)
