"""``ivr demo``, ``ivr serve``, ``ivr call`` and ``ivr sessions``: running and trying the IVR."""

from __future__ import annotations

import datetime as dt
import getpass
import io
import sys
from collections.abc import Callable

import click
from flask import Flask
from sqlalchemy import delete

from ivr import logs, migrate
from ivr.adapters.telephony import LocalTelephony
from ivr.cli.accounts import run_import
from ivr.cli.common import Runtime, pass_runtime
from ivr.models import Conversation, TextMessage, utcnow
from ivr.ops.demo import DEMO_PHONE, demo_csv, demo_rows
from ivr.simulator.emulator import (
    Simulator,
    WebhookRefusedError,
    asks_for_card_details,
    flask_transport,
    http_transport,
    keys_from,
)
from payments import capture

CALL_EXAMPLES = """
\b
Examples (demo accounts from `ivr demo`):
  ivr call --press 9                             hear the greeting in Spanish, then hang up
  ivr call --press ,1,1234#,94105,1,0            verify by caller ID, balance, then an agent
  ivr call --from +15005550001 --press ,70000003#,2468#,6789,1
"""


@click.command()
@pass_runtime
def demo(runtime: Runtime) -> None:
    """Migrate the database, load the demo accounts, and print how to call as each.

    Safe to run again: accounts are upserted, balances and due dates reset.
    """
    migrate.upgrade(runtime.settings.DATABASE_URL)
    today = dt.date.today()
    text = demo_csv(today)
    report = run_import(runtime, io.BytesIO(text.encode()), text.count("\n") - 1)
    click.echo(f"Loaded {report.imported} demo accounts:\n")
    click.echo(f"  {'account':<10}{'PIN':<6}{'detail':<10}{'caller ID':<14}{'balance':>9}  name")
    for row in demo_rows(today):
        detail = row["service_zip"] or f"SSN {row['ssn_last4']}"
        click.echo(
            f"  {row['account_number']:<10}{row['pin']:<6}{detail:<10}{row['phone'] or '-':<14}"
            f"{'$' + row['balance']:>9}  {row['name']}"
        )
    click.echo(
        "\nCall as the first one (caller ID matches):  ivr call --press ,1,1234#,94105,1"
        "\nOr just `ivr call` and answer at the keypad prompt."
    )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@pass_runtime
def serve(runtime: Runtime, host: str, port: int) -> None:
    """Run the development web server (for production use gunicorn; see README).

    Webhooks: POST /voice/incoming, /voice/status, /sms/incoming; the pay page is /pay/<token>.
    Twilio signs against PUBLIC_BASE_URL, so keep it equal to the URL requests arrive on.
    """
    app = build_app(runtime)
    click.echo(
        f"Serving on http://{host}:{port} (database {runtime.settings.DATABASE_URL}).\n"
        f"Call it from another terminal:  ivr call --url http://{host}:{port}\n"
        f"Or text it:                     ivr text --url http://{host}:{port} hi"
    )
    app.run(host=host, port=port, debug=False, use_reloader=False)


@click.command(epilog=CALL_EXAMPLES)
@click.option("--from", "caller", default=DEMO_PHONE, show_default=True, help="Caller ID.")
@click.option("--to", "called", default="+15005550000", show_default=True, help="Number dialled.")
@click.option(
    "--press",
    help="Comma-separated answers to each prompt, e.g. 1,1234#; an empty item waits out the "
    "prompt in silence; when they run out, the caller hangs up. Without it, keys are read "
    "from the keyboard.",
)
@click.option(
    "--url",
    help="Base URL of a running server (it must equal the server's PUBLIC_BASE_URL). "
    "Without it, the app runs inside this command against the same database.",
)
@click.option(
    "--max-hold",
    default=600,
    show_default=True,
    type=click.IntRange(min=1),
    help="Seconds to wait in the agents' queue before hanging up.",
)
@pass_runtime
def call(
    runtime: Runtime,
    caller: str,
    called: str,
    press: str | None,
    url: str | None,
    max_hold: int,
) -> None:
    """Place a simulated phone call, playing Twilio's part.

    Requests are signed with TWILIO_AUTH_TOKEN exactly as Twilio signs them. What the IVR says
    is printed; answer each prompt with keys (add # where the prompt asks for it). Transfers to
    an agent and hang-ups are reported. Card details are never shown: what the caller keys for
    a card field prints as a count of keys, and is not echoed when typed at the keyboard.

    Pressing 0 puts the caller in the agents' queue, where they wait until an agent in the
    console at /agent/ takes the call and starts a secure payment: the call then moves to card
    capture, and --press answers its prompts. Redirects reach this command through the database
    (DATABASE_URL), so with --url run it against the server's database (the same directory
    by default).
    """
    settings = runtime.settings
    if url:
        transport = http_transport(url)
        public = url
    else:
        transport = flask_transport(build_app(runtime, quiet=True).test_client())
        public = settings.PUBLIC_BASE_URL
    keys: Callable[[str], str | None]
    if press is not None:
        keys = keys_from(press.split(","))
    elif sys.stdin.isatty():
        keys = _keyboard
    else:
        keys = keys_from([line.strip() for line in sys.stdin])
    phone = LocalTelephony(factory=runtime.factory)  # the server's redirects and holds
    simulator = Simulator(
        transport,
        public_base_url=public,
        auth_token=settings.TWILIO_AUTH_TOKEN,
        account_sid=settings.TWILIO_ACCOUNT_SID,
        echo=click.echo,
        redirects=phone.take_redirect,
        holds=phone.on_hold,
        max_hold_seconds=max_hold,
    )
    click.echo(f"Calling {called} from {caller}...")
    try:
        record = simulator.call(keys, caller=caller, called=called)
    except WebhookRefusedError as error:
        raise click.ClickException(
            f"{error}\nIf it is 403, the signature did not match: --url must equal the server's "
            "PUBLIC_BASE_URL and both sides must share TWILIO_AUTH_TOKEN."
        ) from None
    except OSError as error:
        raise click.ClickException(
            f"Cannot reach {url}: {error}. Is `ivr serve` running?"
        ) from None
    ending = f"transferred to {', '.join(record.transfers)}" if record.transfers else "call ended"
    click.echo(f"({ending}; hung up by {record.hung_up_by or 'nobody'}; call {record.call_sid})")


def build_app(runtime: Runtime, *, quiet: bool = False) -> Flask:
    """The web app on the command's services; a database this version has not migrated yet
    is a usage error that says what to run. ``quiet`` keeps only the app's warnings, which
    would interleave with a conversation played in this process."""
    from ivr.web.factory import create_app

    current, head = migrate.current_revision(runtime.settings.DATABASE_URL), migrate.head_revision()
    if current != head:
        raise click.UsageError(
            f"the database is at schema {current or '(none)'} but this version needs {head}: "
            "run `ivr db upgrade` (or `ivr demo` to load the demo accounts too)"
        )
    app = create_app(services=runtime.services)
    if quiet:
        logs.configure("WARNING")
    return app


def _keyboard(prompt: str) -> str | None:
    """Keys from the terminal; a card field's are not echoed as they are typed."""
    ask = getpass.getpass if asks_for_card_details(prompt) else input
    try:
        keys = ask("  keys (Enter = silence, q = hang up)> ").strip()
    except EOFError:
        return None
    return None if keys == "q" else keys


@click.group()
def sessions() -> None:
    """Housekeeping for call sessions."""


@sessions.command()
@click.option("--older-than", default=24, show_default=True, help="Hours since expiry.")
@pass_runtime
def purge(runtime: Runtime, older_than: int) -> None:
    """Delete sessions that expired more than --older-than hours ago (run it from cron).

    Text messages' stored replies (kept to answer Twilio's retries) go after the same time.
    Encrypted card fields go as soon as they expire (CAPTURE_TTL_MINUTES), whatever
    --older-than says, and always with their session; `ivr worker` also deletes them on
    each pass.
    """
    now = utcnow()
    cutoff = now - dt.timedelta(hours=older_than)
    with runtime.transaction() as session:
        captures = capture.purge_expired(session, now)
        deleted = session.execute(delete(Conversation).where(Conversation.expires_at < cutoff))
        session.execute(delete(TextMessage).where(TextMessage.received_at < cutoff))
    click.echo(
        f"Purged {deleted.rowcount} expired sessions"  # type: ignore[attr-defined]
        f" and {captures} expired card captures."
    )
