"""``ivr assistance``: check the assistance programs file callers hear at main menu 6."""

from __future__ import annotations

import click

from ivr.cli.common import Runtime, pass_runtime
from payments.assistance import ProgramsError, load


@click.group()
def assistance() -> None:
    """Assistance programs read to callers who press 6 at the main menu."""


@assistance.command("list")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False),
    help="Check this file instead of ASSISTANCE_PROGRAMS_FILE (before putting it in place).",
)
@pass_runtime
def list_(runtime: Runtime, path: str | None) -> None:
    """List the programs exactly as callers will hear them, after checking the file.

    \b
    The file is CSV with a header row: name,phone,url. The phone is a US number in
    any common format (800-555-0134, (212) 555-0199, +18005550134); the url may be empty.
    Edits take effect on the next call; no restart is needed. A file that cannot be read
    is reported with its line number and callers are offered a representative instead.

    Exit status 0 when the file is usable, 1 when it is not.
    """
    source = path if path is not None else runtime.settings.ASSISTANCE_PROGRAMS_FILE
    try:
        programs = load(source)
    except ProgramsError as error:
        raise click.ClickException(str(error)) from None
    if not programs:
        click.echo("No assistance programs: set ASSISTANCE_PROGRAMS_FILE to a CSV file.")
        return
    for program in programs:
        phone = f"{program.phone[:3]}-{program.phone[3:6]}-{program.phone[6:]}"
        click.echo(f"{program.name:<40} {phone}  {program.url or '-'}")
