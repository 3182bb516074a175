"""The ``ivr`` command: run, load and operate the pay-by-phone IVR."""

from __future__ import annotations

import importlib

import click

from ivr.cli.common import Runtime

# Each command's module is imported when the command runs (or its help is shown), not at
# start-up: importing all of them costs about half a second (the web app, the simulator,
# the agents' dummy password hash), which every `ivr` invocation used to pay.
COMMANDS = {
    "db": "ivr.cli.database:db",
    "accounts": "ivr.cli.accounts:accounts",
    "demo": "ivr.cli.calls:demo",
    "serve": "ivr.cli.calls:serve",
    "call": "ivr.cli.calls:call",
    "sessions": "ivr.cli.calls:sessions",
    "payments": "ivr.cli.payments:payments",
    "reconcile": "ivr.cli.payments:reconcile",
    "worker": "ivr.cli.worker:worker",
    "text": "ivr.cli.texts:text",
    "cards": "ivr.cli.cards:cards",
    "keys": "ivr.cli.keys:keys",
    "audit": "ivr.cli.audit:audit",
    "arrangements": "ivr.cli.arrangements:arrangements",
    "disputes": "ivr.cli.disputes:disputes",
    "assistance": "ivr.cli.assistance:assistance",
    "agents": "ivr.cli.agents:agents",
    "locks": "ivr.cli.locks:locks",
}


class LazyGroup(click.Group):
    """A group whose subcommands are named here and imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, _, attribute = COMMANDS[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
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
