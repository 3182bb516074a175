"""The ``ivr`` command: run, load and operate the pay-by-phone IVR."""

from __future__ import annotations

import click

from ivr.cli import (
    accounts,
    agents,
    arrangements,
    assistance,
    audit,
    calls,
    cards,
    database,
    disputes,
    keys,
    payments,
    texts,
    worker,
)
from ivr.cli.common import Runtime


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="ivr")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Run and operate the pay-by-phone IVR.

    Settings come from environment variables (DATABASE_URL, TWILIO_AUTH_TOKEN,
    PUBLIC_BASE_URL, ...; the table is in README.md). With none set, everything runs on the
    embedded default: SQLite in ./instance, the sandbox gateway, and a development auth token
    that the call simulator also knows.

    \b
    Typical first run:
      ivr db upgrade      create or migrate the database
      ivr demo            load demo accounts and print their PINs
      ivr serve           start the webhook server on http://127.0.0.1:5000
      ivr call            place a simulated call (in another terminal)

    Exit status is 0 on success, 1 when a command ran but found problems (bad CSV rows, an
    unknown account), and 2 on bad usage or configuration.
    """
    ctx.obj = Runtime()
    ctx.call_on_close(ctx.obj.close)


main.add_command(database.db)
main.add_command(accounts.accounts)
main.add_command(calls.demo)
main.add_command(calls.serve)
main.add_command(calls.call)
main.add_command(calls.sessions)
main.add_command(payments.payments)
main.add_command(payments.reconcile)
main.add_command(worker.worker)
main.add_command(texts.text)
main.add_command(cards.cards)
main.add_command(keys.keys)
main.add_command(audit.audit)
main.add_command(arrangements.arrangements)
main.add_command(disputes.disputes)
main.add_command(assistance.assistance)
main.add_command(agents.agents)
