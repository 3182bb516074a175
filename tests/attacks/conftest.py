"""The attack suite's target: the real WSGI app under gunicorn, on a private PostgreSQL schema.

One server for the whole session (gthread workers, as production runs it), on a free loopback
port, with the default throttles; each test works on its own accounts and agents, so nothing
needs wiping between tests. The server's log is attached to every failure, and what the
bursts measured is summed up at the end of the run ("most guesses per hour", per throttle).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from bench.server import APP, Server, gunicorn
from ivr import migrate
from ivr.config import DEV_AUTH_TOKEN, Settings, load_settings
from ivr.simulator.emulator import Simulator, http_transport
from tests.attacks.attacker import Ceilings
from tests.conftest import POSTGRES_URL, _postgres_reachable

WORKERS, THREADS = 4, 8  # README's production command
LOG_TAIL = 4000
CEILINGS = pytest.StashKey[list[str]]()
SERVER_LOG = pytest.StashKey[Path]()
LOG_START = pytest.StashKey[int]()


@pytest.fixture(scope="session")
def attack_database_url() -> Iterator[str]:
    """A schema of its own: the server writes while the other suites truncate theirs."""
    problem = _postgres_reachable()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable ({problem}); start it to run the attack suite")
    with migrate.private_schema(POSTGRES_URL, "ivr_attack") as url:
        yield url


@pytest.fixture(scope="session")
def server(
    attack_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Server]:
    overrides = {
        "DATABASE_URL": attack_database_url,
        "TWILIO_AUTH_TOKEN": DEV_AUTH_TOKEN,
        "LOG_LEVEL": "WARNING",
    }
    log_path = tmp_path_factory.mktemp("gunicorn") / "server.log"
    request.config.stash[SERVER_LOG] = log_path
    with gunicorn(APP, overrides, workers=WORKERS, threads=THREADS, log_path=log_path) as running:
        yield running


@pytest.fixture(scope="session")
def settings(server: Server, attack_database_url: str) -> Settings:
    """The settings the server runs with (its environment and our overrides)."""
    environ = {
        **os.environ,
        "DATABASE_URL": attack_database_url,
        "TWILIO_AUTH_TOKEN": DEV_AUTH_TOKEN,
        "PUBLIC_BASE_URL": server.url,
    }
    return load_settings(environ=environ)


@pytest.fixture(scope="session")
def twilio(server: Server, settings: Settings) -> Simulator:
    """Plays Twilio: every request signed for the server's public URL with its auth token."""
    return Simulator.signing_as(settings, http_transport(server.url))


@pytest.fixture
def db(attack_database_url: str) -> Iterator[Session]:
    """For arranging accounts and agents, and reading what the server wrote."""
    engine = create_engine(attack_database_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.fixture
def ceilings(request: pytest.FixtureRequest) -> Ceilings:
    return Ceilings(request.config.stash.setdefault(CEILINGS, []))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, None]:
    """A failing attack test carries what the server logged while it ran."""
    outcome = yield
    report = outcome.get_result()
    log_path = item.config.stash.get(SERVER_LOG, None)
    if log_path is None or not log_path.exists():
        return
    if report.when == "setup":
        item.stash[LOG_START] = log_path.stat().st_size
    elif report.failed:
        with log_path.open() as log:
            log.seek(item.stash.get(LOG_START, 0))
            during = log.read()[-LOG_TAIL:]
        report.sections.append(("gunicorn log", during or "(nothing logged during this test)"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(CEILINGS, [])
    if lines:
        terminalreporter.section("attack suite: most guesses an attacker gets")
        for line in lines:
            terminalreporter.write_line(line)
