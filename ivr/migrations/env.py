"""Alembic environment: the URL comes from the caller (``ivr db upgrade``), never a file.

The metadata is the kernel's models (``ivr.models``) and the development fakes' tables, which
sit beside their fakes (the sandbox gateway's, the local telephony's) and which the migrations
create too. Those two imports are the only ones in the kernel from outside it, which
tests/test_layers.py allows here alone: Alembic runs this file, nothing imports it.
"""

from alembic import context
from sqlalchemy import pool

from ivr.adapters import local_tables  # noqa: F401
from ivr.db import make_engine
from ivr.models import Base
from payments.gateways import sandbox_tables  # noqa: F401
from payments.rails import sandbox_tables as rail_tables  # noqa: F401

config = context.config


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:  # a bare `alembic` command, with no ini file to name the database
        raise RuntimeError("Run migrations with `ivr db upgrade`, which passes the database URL.")
    return url


url = _database_url()
target_metadata = Base.metadata


def run_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
