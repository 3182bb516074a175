"""``ivr cards``: the cards an account has saved for paying by text, and withdrawing consent."""

from __future__ import annotations

import sys

import click
from sqlalchemy.orm import Session

from ivr.cli import listing
from ivr.cli.common import Runtime, pass_runtime
from ivr.cli.listing import Column
from ivr.models import Account, utcnow
from payments import methods
from verification import find_account


@click.group()
def cards() -> None:
    """Saved cards: listed masked, removed when the cardholder withdraws consent.

    A card is saved only with the cardholder's consent (a box on the pay page, or 3 after a
    phone payment); only the gateway's token, brand, last four and expiry are kept.
    """


def _account(session: Session, number: str) -> Account:
    account = find_account(session, number)
    if account is None:
        click.echo(f"No account {number}. Check the number, or import it first.", err=True)
        sys.exit(1)
    return account


CARD_COLUMNS = (
    Column("id", 6),
    Column("card", 20),
    Column("expires", 7),
    Column("consent", 26),
    Column("status"),
)


@cards.command("list")
@click.argument("number")
@pass_runtime
def list_(runtime: Runtime, number: str) -> None:
    """The cards saved on account NUMBER, with when and where consent was given."""
    with runtime.transaction() as session:
        saved = methods.on_file(session, _account(session, number).id)
        if not saved:
            click.echo(f"Account {number} has no saved cards.")
            return
        listing.echo(
            CARD_COLUMNS,
            (
                (
                    method.id,
                    f"{method.brand} ...{method.last4}",
                    f"{method.exp_month:02d}/{method.exp_year}",
                    f"{method.consent_at:%Y-%m-%d %H:%M}Z {method.consent_channel}",
                    f"removed {method.removed_at:%Y-%m-%d}" if method.removed_at else "active",
                )
                for method in saved
            ),
        )


@cards.command()
@click.argument("number")
@click.argument("card_id", type=int)
@pass_runtime
def remove(runtime: Runtime, number: str, card_id: int) -> None:
    """Remove saved card CARD_ID (from `ivr cards list NUMBER`) from account NUMBER.

    It is never offered or charged again; the row stays for the audit trail.
    """
    with runtime.transaction() as session:
        account = _account(session, number)
        method = methods.remove(session, account.id, card_id, actor="operator", now=utcnow())
    if method is None:
        click.echo(
            f"Account {number} has no saved card {card_id}; see `ivr cards list {number}`.",
            err=True,
        )
        sys.exit(1)
    click.echo(f"Removed {method.brand} ...{method.last4} from account {number}.")
