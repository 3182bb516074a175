"""``ivr text``: text the service the way a phone would, through Twilio's messaging webhook."""

from __future__ import annotations

import sys
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable

import click

from ivr.cli.calls import build_app
from ivr.cli.common import Runtime, pass_runtime
from ivr.ops.demo import DEMO_PHONE
from ivr.simulator.emulator import Simulator, flask_transport, http_transport

TEXT_EXAMPLES = """
\b
Examples (demo accounts from `ivr demo`):
  ivr text hi 1234 94105 1                verify by PIN and ZIP, then the balance
  ivr text hi 1234 94105 2 1              a one-time link to pay the balance on the web
  ivr text --from +15005550007 hola 5678 10001 1     in Spanish
  ivr text                                type each message, one per line (Ctrl-D ends)
"""


def _reply(xml: str) -> str:
    """The text of a TwiML ``<Message>`` reply, or "(no reply)"."""
    message = ET.fromstring(xml).find("Message")  # noqa: S314 - TwiML from our own server
    return message.text or "" if message is not None else "(no reply)"


@click.command(epilog=TEXT_EXAMPLES)
@click.argument("messages", nargs=-1)
@click.option("--from", "sender", default=DEMO_PHONE, show_default=True, help="Your number.")
@click.option("--to", "number", default="+15005550000", show_default=True, help="Number texted.")
@click.option(
    "--url",
    help="Base URL of a running server (it must equal the server's PUBLIC_BASE_URL). "
    "Without it, the app runs inside this command against the same database.",
)
@pass_runtime
def text(
    runtime: Runtime, messages: tuple[str, ...], sender: str, number: str, url: str | None
) -> None:
    """Send text messages to the service, one after another, printing each reply.

    Each MESSAGE is posted to /sms/incoming signed with TWILIO_AUTH_TOKEN, exactly as Twilio
    delivers a text; the conversation continues from one command to the next until it has
    been idle for TEXT_SESSION_IDLE_MINUTES. Keywords work at any point: HELP, MENU, AGENT,
    ESPAÑOL or ENGLISH, STOP and START. Never send a card number: the service refuses it and
    offers a secure payment link instead.

    Without MESSAGE arguments, messages are read from the keyboard (or standard input), one
    per line.
    """
    settings = runtime.settings
    if url:
        transport, public = http_transport(url), url
    else:
        transport = flask_transport(build_app(runtime, quiet=True).test_client())
        public = settings.PUBLIC_BASE_URL
    simulator = Simulator(
        transport,
        public_base_url=public,
        auth_token=settings.TWILIO_AUTH_TOKEN,
        account_sid=settings.TWILIO_ACCOUNT_SID,
    )
    bodies: Iterable[str] = messages or (line.rstrip("\n") for line in sys.stdin)
    for body in bodies:
        click.echo(f"  you: {body}")
        form = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": settings.TWILIO_ACCOUNT_SID,
            "From": sender,
            "To": number,
            "Body": body,
            "NumMedia": "0",
        }
        try:
            status, reply = simulator.post("/sms/incoming", form)
        except OSError as error:
            raise click.ClickException(
                f"Cannot reach {url}: {error}. Is `ivr serve` running?"
            ) from None
        if status != 200:
            raise click.ClickException(
                f"/sms/incoming answered {status}. If it is 403, the signature did not match: "
                "--url must equal the server's PUBLIC_BASE_URL and both sides must share "
                "TWILIO_AUTH_TOKEN."
            )
        click.echo(f"  service: {_reply(reply)}")
