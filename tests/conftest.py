"""Shared fixtures. Every database-backed test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``TEST_POSTGRES_URL`` (default: the local server, database ``test``).
Each test run migrates a private schema once and truncates it between tests; SQLite is
migrated once to a template file that each test copies. When PostgreSQL is unreachable its
tests are skipped locally, but fail under CI (``CI=true``) so a green CI always covers both.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from ivr import migrate
from ivr.channels.services import Services, checked_settings
from ivr.config import DEV_AUTH_TOKEN, Settings, load_settings
from ivr.db import make_engine, make_session_factory
from ivr.models import Account, Base
from ivr.simulator.emulator import Simulator, flask_transport
from ivr.web.factory import create_app
from tests.support.agent_desk import Desk, make_agent
from tests.support.factories import add_account

# A name reserved for tests (RFC 6761): no deployment can have it, so, like loopback, it may run
# with the published development secrets that a reachable PUBLIC_BASE_URL refuses (ivr.config).
PUBLIC_BASE_URL = "https://pay.example.com"
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as error:
        return str(error).splitlines()[0]
    return None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "ivr.sqlite3"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    problem = _postgres_reachable()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable ({problem}); start it to run these tests")
    with migrate.private_schema(POSTGRES_URL, "ivr_test") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "ivr.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_schema_url")
    yield url
    engine = create_engine(url)
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        # Replica mode skips triggers, the audit log's refusal to be truncated among them.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def config(database_url: str) -> dict[str, Any]:
    """Setting overrides for the app under test; tests may change them before ``app``."""
    return {
        "DATABASE_URL": database_url,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "TWILIO_AUTH_TOKEN": DEV_AUTH_TOKEN,
        "LOG_LEVEL": "DEBUG",
    }


@pytest.fixture
def settings(config: dict[str, Any]) -> Settings:
    return load_settings(environ={}, overrides=config)


@pytest.fixture
def make_app(config: dict[str, Any]) -> Iterator[Callable[..., Flask]]:
    """Build apps with extra setting overrides; their connection pools close after the test."""
    made: list[Services] = []

    def build(*, gateway: Any = None, telephony: Any = None, **overrides: Any) -> Flask:
        settings = checked_settings(overrides={**config, **overrides})
        made.append(Services.build(settings, gateway=gateway, telephony=telephony))
        return create_app(services=made[-1])

    yield build
    for services in made:
        services.close()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def factory(app: Flask) -> sessionmaker[Session]:
    return app.extensions["ivr"].factory  # type: ignore[no-any-return]


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    """A session for arranging and inspecting data; commit what the app must see.

    It uses a plain engine: the app's SQLite engine takes the write lock at BEGIN, and a test
    holding a read transaction open would then block the app it is testing.
    """
    engine = create_engine(database_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


def simulator_for(app: Flask) -> Simulator:
    """A simulator playing Twilio against ``app``, signing with the app's own settings."""
    return Simulator.signing_as(app.extensions["ivr"].settings, flask_transport(app.test_client()))


@pytest.fixture
def simulator(app: Flask) -> Simulator:
    return simulator_for(app)


@pytest.fixture
def standalone_engine(database_url: str) -> Iterator[Engine]:
    """The test database's engine, without any Flask app (for domain-level tests)."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def standalone_factory(standalone_engine: Engine) -> sessionmaker[Session]:
    """Sessions on :func:`standalone_engine`."""
    return make_session_factory(standalone_engine)


@pytest.fixture
def ada(request: pytest.FixtureRequest, db: Session, settings: Settings) -> Account:
    """Ada Lovelace, account 70000001 (PIN 1234, service ZIP 94105, phone ADA_PHONE), committed.

    Tests that need her otherwise say how, with account-row overrides on a marker, as in
    ``pytestmark = pytest.mark.ada(due_date="2026-12-01")``.
    """
    marker = request.node.get_closest_marker("ada")
    return add_account(db, settings, **(marker.kwargs if marker else {}))


@pytest.fixture
def desk(client: FlaskClient, db: Session) -> Desk:
    """Alice, an agent, logged in to the console."""
    make_agent(db)
    console = Desk(client)
    assert console.login().status_code == 302
    return console
