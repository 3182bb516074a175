"""What every command shares: settings and a database, built lazily with clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

import click
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import ConfigError, Settings, load_settings
from ivr.db import make_engine, make_session_factory, transaction


class Runtime:
    """Settings and sessions for one CLI invocation."""

    @cached_property
    def settings(self) -> Settings:
        try:
            return load_settings()
        except ConfigError as error:
            raise click.UsageError(str(error)) from None

    @cached_property
    def factory(self) -> sessionmaker[Session]:
        return make_session_factory(make_engine(self.settings.DATABASE_URL))

    def close(self) -> None:
        """Release pooled connections (only if a command opened the database)."""
        if "factory" in self.__dict__:
            self.factory.kw["bind"].dispose()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with transaction(self.factory) as session:
            yield session


pass_runtime = click.make_pass_decorator(Runtime)
