"""What every command shares: checked settings and the services, built lazily with clear errors.

``ivr.channels.services`` is imported only when a command first needs it: it loads every domain
package, which ``ivr --help`` does without."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

import click
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import ConfigError, Settings
from ivr.db import transaction

if TYPE_CHECKING:
    from ivr.channels.services import Services


class Runtime:
    """Settings and services for one CLI invocation."""

    @cached_property
    def settings(self) -> Settings:
        from ivr.channels.services import checked_settings

        try:
            return checked_settings()
        except ConfigError as error:
            raise click.UsageError(str(error)) from None

    @cached_property
    def services(self) -> Services:
        from ivr.channels.services import Services

        return Services.build(self.settings)

    @property
    def factory(self) -> sessionmaker[Session]:
        return self.services.factory

    def close(self) -> None:
        """Release pooled connections (only if a command built the services)."""
        if "services" in self.__dict__:
            self.services.close()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.factory) as session:
            yield session


pass_runtime = click.make_pass_decorator(Runtime)


def _login_name() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment nor the password database
        return None


def _operator(ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    name = (value or "").strip()
    if not name or not name.isprintable() or len(name) > 64:
        raise click.BadParameter(
            "say who you are, for the audit log: --by NAME or IVR_OPERATOR=NAME (printable, "
            "at most 64 characters)."
        )
    return f"operator:{name}"


operator_option = click.option(
    "--by",
    "actor",
    envvar="IVR_OPERATOR",
    show_envvar=True,
    default=_login_name,
    show_default="your login name",
    callback=_operator,
    help="Who is doing this, recorded in the audit log.",
)
