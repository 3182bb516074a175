"""``ivr agents``: the people who sign in to the agent console at /agent/."""

from __future__ import annotations

import sys

import click

from ivr import audit
from ivr.cli.common import Runtime, pass_runtime
from verification.agents import (
    MIN_PASSWORD_LENGTH,
    AgentError,
    add_agent,
    find_agent,
    set_disabled,
)


@click.group()
def agents() -> None:
    """Add, disable and enable agent console accounts.

    Agents sign in at /agent/ on the web server with the username and password set here.
    Passwords are stored only as scrypt hashes.
    """


@agents.command()
@click.argument("username")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (for scripts) instead of "
    "prompting for it twice.",
)
@pass_runtime
def add(runtime: Runtime, username: str, password_stdin: bool) -> None:
    """Create the console account USERNAME and set its password.

    USERNAME is 2 to 64 characters (letters, digits, dots, dashes, underscores; stored in lower
    case). The password needs at least 12 characters. After AGENT_MAX_FAILED_LOGINS wrong
    passwords within AGENT_LOCKOUT_MINUTES, log-ins as USERNAME are refused until that window
    ends.

    \b
    Examples:
      ivr agents add alice                          prompts for the password
      printf '%s\\n' "$PASSWORD" | ivr agents add alice --password-stdin
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(
            f"Password for {username} (at least {MIN_PASSWORD_LENGTH} characters)",
            hide_input=True,
            confirmation_prompt=True,
        )
    try:
        with runtime.transaction() as session:
            agent = add_agent(session, username, password)
            audit.record(
                session, "agent.added", actor="operator", outcome="success",
                resource=f"agent:{agent.username}",
            )  # fmt: skip
    except AgentError as error:
        raise click.UsageError(str(error)) from None
    click.echo(f"Agent {agent.username} can now sign in at /agent/.")


@agents.command()
@click.argument("username")
@pass_runtime
def disable(runtime: Runtime, username: str) -> None:
    """Stop USERNAME from signing in, and end their console sessions at once.

    The account and its audit history are kept; `ivr agents enable` lets them back in.
    """
    _set_disabled(runtime, username, disabled=True)
    click.echo(f"Agent {username} is disabled.")


@agents.command()
@click.argument("username")
@pass_runtime
def enable(runtime: Runtime, username: str) -> None:
    """Let USERNAME sign in again: lifts a disable and a lock after wrong passwords."""
    _set_disabled(runtime, username, disabled=False)
    click.echo(f"Agent {username} can sign in again at /agent/.")


def _set_disabled(runtime: Runtime, username: str, *, disabled: bool) -> None:
    with runtime.transaction() as session:
        agent = find_agent(session, username)
        if agent is None:
            click.echo(f"No agent {username}. `ivr agents add {username}` creates one.", err=True)
            sys.exit(1)
        set_disabled(session, agent, disabled, actor="operator")
        audit.record(
            session, "agent.disabled" if disabled else "agent.enabled", actor="operator",
            outcome="success", resource=f"agent:{agent.username}",
        )  # fmt: skip
