"""``ivr db``: schema migrations."""

from __future__ import annotations

import click
from sqlalchemy.engine import make_url

from ivr import migrate
from ivr.cli.common import Runtime, pass_runtime


@click.group()
def db() -> None:
    """Create and migrate the database named by DATABASE_URL."""


@db.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@pass_runtime
def upgrade(runtime: Runtime, revision: str) -> None:
    """Apply migrations up to REVISION (safe to run again: applied ones are skipped).

    Works the same on SQLite and PostgreSQL. Run it before starting a new release.
    """
    url = runtime.settings.DATABASE_URL
    migrate.upgrade(url, revision)
    shown = make_url(url).render_as_string(hide_password=True)
    click.echo(f"Database {shown} is at revision {migrate.current_revision(url)}.")


@db.command()
@pass_runtime
def current(runtime: Runtime) -> None:
    """Print the revision the database is at ("none" before the first upgrade)."""
    click.echo(migrate.current_revision(runtime.settings.DATABASE_URL) or "none")
