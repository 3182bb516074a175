"""``ivr payments`` and ``ivr reconcile``: reading, exporting and settling the ledger."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from sqlalchemy import select

from ivr.cli import listing
from ivr.cli.accounts import money
from ivr.cli.common import Runtime, pass_runtime
from ivr.cli.listing import Column
from ivr.models import Account, Payment, PaymentStatus, utcnow
from ivr.ops import export as billing_export
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
    card = billing_export.masked_method(payment.brand, payment.last4) or "-"
    return (
        payment.id, f"{payment.created_at:%Y-%m-%d %H:%M}", number, money(payment.amount_cents),
        money(payment.fee_cents), state, card, payment.confirmation_number or "-",
    )  # fmt: skip


class Instant(click.ParamType[dt.datetime]):
    """An ISO 8601 instant; without a UTC offset it is UTC, and a date alone is its start."""

    name = "instant"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an instant like 2026-12-02T18:00:00Z or 2026-12-02")
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@payments.command("export")
@click.option(
    "--since",
    required=True,
    type=Instant(),
    help="Rows at or after this ISO 8601 instant (UTC without an offset; a date: its 00:00).",
)
@click.option("--until", type=Instant(), help="Rows before this instant (default: no end).")
@click.option(
    "--format",
    "form",
    type=click.Choice(billing_export.FORMATS),
    default="csv",
    show_default=True,
    help="CSV with a header row, or JSON Lines (one object per row).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file (replaced whole, once complete) instead of standard output.",
)
@pass_runtime
def export(
    runtime: Runtime, since: dt.datetime, until: dt.datetime | None, form: str, out: Path | None
) -> None:
    """Write what the billing system must post: the IVR's settled payments.

    \b
    One row per settled payment (approved, and still so), in these columns:
      id                   stable across runs: payment:CONFIRMATION
      kind                 payment
      occurred_at          when it was approved, UTC, ISO 8601 to the microsecond
      account_number       the billing system's account number
      amount_cents         what the account is credited, in cents
      fee_cents            any convenience fee, charged on top, in cents
      method               brand and last four only, e.g. "visa ...4242"
      channel              voice, sms, web (the pay page) or plan (an installment)
      confirmation_number  what the customer was told

    Rows are ordered by occurred_at, then id; the window is --since (included) to --until
    (left out). The same window gives the same bytes every time, so an export may be run
    again, and windows may overlap: post each id once.

    \b
    The billing loop (docs/operations.md, "The billing loop"):
      ivr payments export --since 2026-12-01T00:00:00Z --until 2026-12-02T00:00:00Z \\
          --out ivr-payments.csv
      (the billing system posts ivr-payments.csv, then exports its balances)
      ivr accounts import --as-of 2026-12-02T00:00:00Z accounts.csv

    No card or bank number is ever written, only what identifies the method to its owner.
    """
    rows = 0
    with runtime.transaction() as session:
        found = billing_export.export_rows(session, since, until)
        with click.open_file(str(out or "-"), "w", encoding="utf-8", atomic=out is not None) as f:
            rows = billing_export.write(found, f, form)
    click.echo(f"Exported {rows} rows.", err=True)


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
