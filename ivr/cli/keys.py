"""``ivr keys``: rotating the capture key and the PIN pepper without downtime."""

from __future__ import annotations

import base64
import secrets

import click
from sqlalchemy import func, select

from ivr.cli.common import Runtime, pass_runtime
from ivr.models import Account, CardCapture
from payments.capture import KeyRing
from verification.credentials import pepper_id, pepper_list

LEGACY = "(no id)"


@click.group()
def keys() -> None:
    """Rotate the card-capture key and the PIN pepper without downtime."""


@keys.command()
@click.argument("which", type=click.Choice(["capture-key", "pin-pepper"]))
@pass_runtime
def rotate(runtime: Runtime, which: str) -> None:
    """Print the next value of CAPTURE_KEY or PIN_PEPPER: a new secret, then the current ones.

    Nothing is changed here. Put the printed value in the environment of every web worker and
    of `ivr worker`, and restart them one at a time: each accepts the old and the new secret,
    so no call is dropped. Only the value goes to standard output, so it can be captured:

    \b
      export CAPTURE_KEY="$(ivr keys rotate capture-key)"

    \b
    capture-key  Card fields are written under the new key at once; those written under the
                 old one stay readable until they expire (CAPTURE_TTL_MINUTES), after which
                 the old key can be dropped from the list.
    pin-pepper   PINs and SSN digits hashed under the old pepper still verify, and are
                 re-hashed under the new one when the caller verifies or when the next
                 `ivr accounts import` carries the account. Drop the old pepper once
                 `ivr keys status` shows no account still uses it.
    """
    settings = runtime.settings
    if which == "capture-key":
        fresh = base64.b64encode(secrets.token_bytes(32)).decode()
        current = [part.strip() for part in settings.CAPTURE_KEY.split(",") if part.strip()]
    else:
        fresh, current = secrets.token_urlsafe(32), pepper_list(settings.PIN_PEPPER)
    name = "CAPTURE_KEY" if which == "capture-key" else "PIN_PEPPER"
    click.echo(f"{name}: new secret first, then the {len(current)} in use now", err=True)
    click.echo(",".join([fresh, *current]))


@keys.command()
@pass_runtime
def status(runtime: Runtime) -> None:
    """Show which key and pepper are current and what still uses the older ones.

    \b
    Capture keys and peppers are named by short fingerprints, never shown in full. An older
    one can be dropped when nothing is listed under it.
    """
    settings = runtime.settings
    ring = KeyRing(settings.CAPTURE_KEY)
    peppers = [pepper_id(pepper) for pepper in pepper_list(settings.PIN_PEPPER)]
    with runtime.transaction() as session:
        captures = dict(
            session.execute(
                select(CardCapture.key_id, func.count()).group_by(CardCapture.key_id)
            ).all()
        )
        pepper = func.substr(Account.pin_hash, 4, 8)  # h2$<pepper id>$<digest>
        by_pepper: dict[str, int] = dict(
            session.execute(
                select(pepper, func.count()).where(Account.pin_hash.like("h2$%")).group_by(pepper)
            ).all()
        )
        legacy = select(func.count()).where(Account.pin_hash.not_like("h2$%"))
        by_pepper[LEGACY] = session.scalar(legacy.select_from(Account)) or 0
    click.echo("capture keys (newest first; card fields waiting under each):")
    for key_id in ring.key_ids:
        click.echo(f"  {key_id}  {captures.pop(key_id, 0):>9,}")
    for key_id, count in captures.items():
        click.echo(f"  {key_id}  {count:>9,}  (key no longer configured: unreadable)")
    click.echo("PIN peppers (newest first; accounts whose PIN is hashed under each):")
    for fingerprint in peppers:
        click.echo(f"  {fingerprint}          {by_pepper.pop(fingerprint, 0):>9,}")
    for fingerprint, count in by_pepper.items():
        if count:
            note = "older than pepper ids" if fingerprint == LEGACY else "pepper not configured"
            click.echo(f"  {fingerprint:<16}  {count:>9,}  ({note})")
