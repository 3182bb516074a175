"""``ivr locks``: see and lift the verification locks on accounts, caller IDs and the
withheld-number pool."""

from __future__ import annotations

import sys

import click

from ivr.cli import listing
from ivr.cli.common import Runtime, operator_option, pass_runtime
from ivr.cli.listing import Column
from ivr.models import utcnow
from verification import lockout

LOCK_COLUMNS = (
    Column("subject", 28),
    Column("locked until (UTC)", 20),
    Column("locks in 24 h"),
)


@click.group()
def locks() -> None:
    """See and lift the locks that stop callers from verifying by phone or text.

    \b
    A verification (PIN and one account detail) is counted against three subjects:
      account:NUMBER      the account number as the caller keyed it, real or not
      caller:+14155550123 the caller ID (or the texting phone), in E.164
      caller:anonymous    every caller who withholds their number, as one pool

    \b
    With the default settings a subject locks for LOCKOUT_MINUTES (30) after
    MAX_ACCOUNT_FAILURES (3), MAX_CALLER_FAILURES (5) or MAX_ANONYMOUS_FAILURES (20)
    failed attempts within that many minutes. An account locked HARD_LOCK_AFTER (3) times
    in 24 hours stays locked until an operator lifts it. While a subject is locked every
    attempt is refused unchecked, even the right PIN, and counts toward nothing.

    Lift a lock only after checking who is asking (for a caller ID: that the number
    belongs to the caller). Every lift is written to the audit log with your name.
    """


@locks.command("list")
@pass_runtime
def list_(runtime: Runtime) -> None:
    """List the locks in force now, the latest to end first.

    \b
    Columns:
      subject             what is locked (see `ivr locks --help`)
      locked until (UTC)  when the lock ends, or "until cleared" for a hard lock
      locks in 24 h       how many times an account locked in the last day; at
                          HARD_LOCK_AFTER the lock becomes hard ("-" for callers)

    Exit status is 0, with or without locks.
    """
    with runtime.transaction() as session:
        found = lockout.locks(session, utcnow())
    if not found:
        click.echo("No locks in force.")
        return
    listing.echo(LOCK_COLUMNS, (_lock_row(lock) for lock in found))


def _lock_row(lock: lockout.Lock) -> tuple[object, ...]:
    until = "until cleared" if lock.hard else lock.until.strftime("%Y-%m-%d %H:%M:%S")
    return (lock.subject, until, lock.locks_today or "-")


@locks.command("clear")
@click.argument("subject")
@operator_option
@pass_runtime
def clear(runtime: Runtime, subject: str, actor: str) -> None:
    """Lift the lock on SUBJECT and forget its failed attempts and earlier locks.

    SUBJECT is written as `ivr locks list` shows it: account:NUMBER, caller:PHONE (any
    spelling of the number: caller:415-555-0123 is caller:+14155550123) or caller:anonymous.
    For an account this is what `ivr accounts unlock NUMBER` does.

    \b
    Examples:
      ivr locks clear account:70000001 --by ann
      IVR_OPERATOR=ann ivr locks clear caller:+14155550123

    Exit status is 0 when something was lifted, 1 when SUBJECT had no lock nor counted
    failures (nothing changes, the attempt is still audited), 2 when SUBJECT is malformed.
    """
    try:
        named = lockout.parse_subject(subject, runtime.settings.DEFAULT_REGION)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="SUBJECT") from None
    with runtime.transaction() as session:
        lifted = lockout.lift(session, named, actor=actor)
    if not lifted:
        click.echo(f"Nothing to clear on {named}: see `ivr locks list`.", err=True)
        sys.exit(1)
    click.echo(f"Cleared {named}: it can verify by phone and text again.")
