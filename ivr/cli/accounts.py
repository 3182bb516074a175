"""``ivr accounts``: load and inspect customer accounts."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import IO

import click

from ivr import logs
from ivr.cli.common import Runtime, operator_option, pass_runtime
from ivr.ops.importer import HeaderError, ImportReport, RowError, import_accounts, parse_as_of
from payments.ledger import last_approved_payment
from prompts import Money
from verification import find_account, lockout

MAX_ERRORS_SHOWN = 50


def money(cents: int) -> str:
    """Dollars as operators read them, written the way receipts write them."""
    return Money(cents).write("en-US")


@click.group()
def accounts() -> None:
    """Load accounts from the billing system and look them up."""


def run_import(
    runtime: Runtime,
    stream: IO[bytes],
    total_lines: int,
    *,
    as_of: dt.datetime | None = None,
    force: bool = False,
) -> ImportReport:
    """Import with a progress bar on stderr (shown when stderr is a terminal)."""
    with click.progressbar(
        length=total_lines,
        label="Importing accounts",
        file=sys.stderr,
        show_pos=True,
        hidden=not sys.stderr.isatty(),
    ) as bar:
        return import_accounts(
            runtime.transaction, stream, runtime.settings, bar.update, as_of=as_of, force=force
        )


def _as_of(ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.datetime | None:
    """``--as-of``, read as the column is (a date's end is in the accounts' time zone)."""
    if value is None:
        return None
    try:
        return parse_as_of(value, ctx.ensure_object(Runtime).settings.DEFAULT_TIME_ZONE)
    except RowError as error:
        raise click.BadParameter(str(error).removeprefix("balance_as_of ")) from None


@accounts.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--as-of",
    "as_of",
    metavar="INSTANT",
    callback=_as_of,
    help="The balance_as_of of every row that has none (2026-12-02T18:00:00Z, or a date).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Import rows even when they are older than their account's last import.",
)
@pass_runtime
def import_(runtime: Runtime, csv_file: Path, as_of: dt.datetime | None, force: bool) -> None:
    """Upsert accounts from CSV_FILE, matching on account_number.

    \b
    Columns (header row required, any order; * = required):
      account_number*  4-16 digits
      name*            account holder
      phone            one or more numbers, separated by ';' (stored as E.164)
      email            receipt address
      service_zip      5 digits (ZIP+4 accepted)
      ssn_last4        4 digits (stored only as a keyed hash)
      pin*             4-8 digits (stored only as a keyed hash)
      balance*         dollars, e.g. 142.50 or $1,042.50
      minimum_due      dollars, 0 up to the balance (default 0)
      due_date         2026-12-19 or 12/19/2026
      status           active, past_due, disconnected, closed (default active)
      language         en-US or es-US (default en-US)
      balance_as_of    when the balance was true: 2026-12-02T18:00:00Z (an ISO 8601
                       instant with its UTC offset), or 2026-12-02 (the end of that day
                       in DEFAULT_TIME_ZONE); a blank cell takes --as-of

    Each account needs service_zip or ssn_last4 (a caller proves who they are with one of
    them): a row with neither is rejected.

    \b
    With a balance_as_of (the column, or --as-of):
      - payments the IVR approved at or after it, which the billing system could not yet
        count, are taken off the balance and the minimum due (not below 0); the summary
        says how many accounts were so adjusted;
      - a row older than the balance_as_of of its account's last import is rejected, as
        it would undo that import and the payments since; --force imports it anyway.
    Without one, a row's balance is taken as it is, and the account's stored as-of is
    cleared.

    The file is UTF-8 text, and each account is on one row only: every row of an account
    number that the file repeats is rejected. Good rows are written even when others are bad
    (bytes that are not UTF-8, NUL bytes and other control characters make a bad row); each
    bad row is reported with its line number and the reason, and the exit status is then 1.
    Fix the rows and import the file again: rows already loaded are simply updated.
    """
    with csv_file.open("rb") as stream:
        total = max(0, sum(1 for _ in stream) - 1)
        stream.seek(0)
        try:
            report = run_import(runtime, stream, total, as_of=as_of, force=force)
        except HeaderError as error:
            raise click.UsageError(f"{csv_file}: {error}") from None
    click.echo(f"Imported {report.imported} accounts from {csv_file}.")
    if report.dated:
        accounts = "1 account" if report.adjusted == 1 else f"{report.adjusted} accounts"
        click.echo(f"Adjusted {accounts} for IVR payments approved after balance_as_of.")
    if report.errors:
        rejected = "1 row was" if len(report.errors) == 1 else f"{len(report.errors)} rows were"
        click.echo(f"{rejected} rejected:", err=True)
        for line, message in report.errors[:MAX_ERRORS_SHOWN]:
            click.echo(f"  {csv_file}:{line}: {message}", err=True)
        if len(report.errors) > MAX_ERRORS_SHOWN:
            click.echo(f"  ... and {len(report.errors) - MAX_ERRORS_SHOWN} more.", err=True)
        sys.exit(1)


@accounts.command()
@click.argument("number")
@pass_runtime
def show(runtime: Runtime, number: str) -> None:
    """Show account NUMBER with personal data masked (no PIN, no SSN, partial phones)."""
    with runtime.transaction() as session:
        account = find_account(session, number)
        if account is None:
            click.echo(f"No account {number}. Check the number, or import it first.", err=True)
            sys.exit(1)
        payment = last_approved_payment(session, account.id)
        email = account.email or ""
        masked_email = logs.mask_email(email) if "@" in email else "-"
        lines = [
            ("Account", account.number),
            ("Name", account.name),
            ("Status", account.status.value),
            ("Balance", money(account.balance_cents)),
            ("Minimum due", money(account.minimum_due_cents)),
            ("Due date", account.due_date.isoformat() if account.due_date else "-"),
            ("Phones", ", ".join(logs.mask_phone(p.e164) for p in account.phones) or "-"),
            ("Email", masked_email),
            ("Service ZIP", (account.service_zip or "")[:3] + "**" if account.service_zip else "-"),
            ("Language", account.language),
            ("Last payment", f"{money(payment.amount_cents)} #{payment.confirmation_number}"
             if payment else "-"),
        ]  # fmt: skip
        for label, value in lines:
            click.echo(f"{label + ':':<14}{value}")


@accounts.command()
@click.argument("number")
@operator_option
@pass_runtime
def unlock(runtime: Runtime, number: str, actor: str) -> None:
    """Lift a verification lockout on account NUMBER (after checking the caller's identity).

    The same as `ivr locks clear account:NUMBER`; `ivr locks` also lifts caller-ID locks.
    """
    with runtime.transaction() as session:
        lockout.lift(session, lockout.account_subject(number), actor=actor)
    click.echo(f"Account {number} can verify by phone again.")
