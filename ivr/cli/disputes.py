"""``ivr disputes``: the billing team's view of disputed amounts, and resolving them."""

from __future__ import annotations

import datetime as dt

import click
from sqlalchemy import select

from ivr.channels.dispute_notices import dispute_outcomes
from ivr.cli import listing
from ivr.cli.accounts import money
from ivr.cli.common import Runtime, operator_option, pass_runtime
from ivr.cli.listing import Column
from ivr.models import Account, Dispute, DisputeStatus, utcnow
from payments.disputes import NOTE_LENGTH, DisputeError, resolve


@click.group()
def disputes() -> None:
    """Disputed amounts recorded by callers (by phone or text) and by agents in the console.

    An open dispute's amount is held out of what the IVR asks the caller to pay, out of
    payment arrangements and out of the reconnection amount, until it is resolved here. The
    balance itself is the billing system's: credit an upheld dispute there.
    """


@disputes.command("list")
@click.option("--account", "account_number", help="Only this account number.")
@click.option(
    "--status",
    type=click.Choice([s.value for s in DisputeStatus]),
    help="Only disputes in this state (open ones are holding amounts).",
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only disputes opened on or after this UTC date (YYYY-MM-DD).",
)
@click.option("--limit", default=50, show_default=True, help="Newest N disputes.")
@pass_runtime
def list_(
    runtime: Runtime,
    account_number: str | None,
    status: str | None,
    since: dt.datetime | None,
    limit: int,
) -> None:
    """List disputes, newest first, with the total held by the open ones listed.

    \b
    Columns: reference number, opened (UTC), account, amount, what was disputed (the whole
    balance, or an amount the caller keyed), status, and who resolved it, when, and their note.
    """
    query = listing.newest_first(
        select(Dispute, Account.number).join(Account),
        Dispute,
        limit=limit,
        account_number=account_number,
        status=DisputeStatus(status) if status else None,
        since=since,
    )
    with runtime.transaction() as session:
        rows = session.execute(query).all()
    if not rows:
        click.echo("No disputes match.")
        return
    listing.echo(DISPUTE_COLUMNS, (_dispute_row(dispute, number) for dispute, number in rows))
    held = sum(d.amount_cents for d, _ in rows if d.status is DisputeStatus.OPEN)
    click.echo(f"{len(rows)} disputes; {money(held)} held by the open ones listed.")


DISPUTE_COLUMNS = (
    Column("reference", 10),
    Column("opened (UTC)", 16),
    Column("account", 10),
    Column("amount", 11, right=True),
    Column("disputed", 8),
    Column("status", 8),
    Column("resolved"),
)


def _dispute_row(dispute: Dispute, number: str) -> tuple[object, ...]:
    closed = "-"
    if dispute.closed_at:
        closed = f"{dispute.closed_at:%Y-%m-%d %H:%M} by {dispute.closed_by}"
        closed += f": {dispute.closed_note}" if dispute.closed_note else ""
    return (
        dispute.reference_number, f"{dispute.created_at:%Y-%m-%d %H:%M}", number,
        money(dispute.amount_cents), dispute.scope, dispute.status.value, closed,
    )  # fmt: skip


@disputes.command("resolve")
@click.argument("reference")
@click.option(
    "--outcome",
    type=click.Choice([DisputeStatus.CREDITED.value, DisputeStatus.DENIED.value]),
    required=True,
    help="credited: upheld (credit it in the billing system); denied: the amount is owed.",
)
@click.option(
    "--note",
    default="",
    help=f"Why, in one line (at most {NOTE_LENGTH} characters), kept on the dispute.",
)
@operator_option
@pass_runtime
def resolve_(runtime: Runtime, reference: str, outcome: str, note: str, actor: str) -> None:
    """End the hold of the open dispute REFERENCE (its 10-digit reference number).

    A denied amount is asked for again from the next call on; a credited one stays out of
    the amount due only once the billing system's import lowers the balance. The account
    holder is told the outcome, with the reference number, in the account's language: by text
    to the account's phone and by email, whichever it has (`ivr worker` delivers them).
    Audited with your name (`--by`, else IVR_OPERATOR, else your login name).

    \b
    Examples:
      ivr disputes resolve 482-913-0057 --outcome credited --note "meter misread" --by kim
      IVR_OPERATOR=kim ivr disputes resolve 4829130057 --outcome denied

    Exit status 1 when no open dispute has that reference, or the note cannot be kept.
    """
    notify = dispute_outcomes(runtime.settings.COMPANY_NAME)
    with runtime.transaction() as session:
        try:
            dispute = resolve(
                session,
                reference.replace("-", "").strip(),
                DisputeStatus(outcome),
                actor=actor,
                now=utcnow(),
                notify=notify,
                note=note,
            )
        except DisputeError as error:
            raise click.ClickException(f"{error}. See `ivr disputes list --status open`.") from None
        click.echo(f"Dispute {dispute.reference_number}: {money(dispute.amount_cents)} {outcome}.")
