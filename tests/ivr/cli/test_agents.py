"""``ivr agents add|disable``: console accounts from the command line."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from ivr.models import Agent, AuditEvent, LockoutCounter, utcnow
from tests.support.agent_desk import Desk
from tests.support.cli import cli_env, run_ivr

PASSWORD = "correct horse battery"


@pytest.fixture
def env(database_url: str) -> dict[str, str | None]:
    return cli_env(database_url)


def agents(url: str) -> list[Agent]:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(Agent)))
    finally:
        engine.dispose()


def test_add_reads_the_password_from_stdin_and_stores_only_a_scrypt_hash(env, database_url):
    result = run_ivr(["agents", "add", "Alice", "--password-stdin"], env, stdin=PASSWORD + "\n")

    assert result.exit_code == 0, result.output
    assert "Agent alice can now sign in at /agent/." in result.stdout
    [agent] = agents(database_url)
    assert agent.username == "alice"
    assert agent.password_hash.startswith("scrypt:")
    assert PASSWORD not in agent.password_hash
    assert check_password_hash(agent.password_hash, PASSWORD)


def test_add_prompts_twice_for_the_password(env, database_url):
    result = run_ivr(["agents", "add", "alice"], env, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert [a.username for a in agents(database_url)] == ["alice"]


@pytest.mark.parametrize(
    ("args", "stdin", "complaint"),
    [
        (["alice"], "short\n", "at least 12 characters"),
        (["a l i c e"], PASSWORD + "\n", "2 to 64 characters"),
    ],
)
def test_add_refuses_bad_names_and_short_passwords(env, database_url, args, stdin, complaint):
    result = run_ivr(["agents", "add", *args, "--password-stdin"], env, stdin=stdin)
    assert result.exit_code == 2
    assert complaint in result.stderr
    assert agents(database_url) == []


def test_add_refuses_an_existing_agent(env):
    run_ivr(["agents", "add", "alice", "--password-stdin"], env, stdin=PASSWORD + "\n")
    again = run_ivr(["agents", "add", "alice", "--password-stdin"], env, stdin=PASSWORD + "\n")
    assert again.exit_code == 2
    assert "Agent alice already exists." in again.stderr


def test_disable_stops_the_agent_and_is_audited(env, database_url):
    run_ivr(["agents", "add", "alice", "--password-stdin"], env, stdin=PASSWORD + "\n")
    result = run_ivr(["agents", "disable", "alice"], env)
    assert result.exit_code == 0, result.output
    [agent] = agents(database_url)
    assert agent.disabled
    engine = create_engine(database_url)
    with Session(engine) as session:
        assert session.scalars(select(AuditEvent.action)).all() == ["agent.added", "agent.disabled"]
    engine.dispose()


def test_disable_ends_the_agents_console_session_at_once(env, make_app):
    run_ivr(["agents", "add", "alice", "--password-stdin"], env, stdin=PASSWORD + "\n")
    app = make_app()
    desk = Desk(app.test_client())
    assert desk.login().status_code == 302
    copy = app.test_client()
    copy.set_cookie("session", desk.client.get_cookie("session").value)
    assert copy.get("/agent/").status_code == 200

    assert run_ivr(["agents", "disable", "alice"], env).exit_code == 0

    assert copy.get("/agent/").status_code == 302
    assert desk.client.get("/agent/").status_code == 302
    run_ivr(["agents", "enable", "alice"], env)
    assert copy.get("/agent/").status_code == 302  # enabling again revives no session


def test_enable_lets_a_disabled_or_locked_agent_back_in_and_is_audited(env, database_url):
    run_ivr(["agents", "add", "alice", "--password-stdin"], env, stdin=PASSWORD + "\n")
    run_ivr(["agents", "disable", "alice"], env)
    engine = create_engine(database_url)
    with Session(engine) as session, session.begin():
        session.add(
            LockoutCounter(subject="agent-login:alice", failures=9, window_started_at=utcnow())
        )
    result = run_ivr(["agents", "enable", "alice"], env)
    assert result.exit_code == 0, result.output
    [agent] = agents(database_url)
    assert not agent.disabled
    with Session(engine) as session:
        assert session.scalars(select(LockoutCounter)).all() == []
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["agent.added", "agent.disabled", "lockout.reset", "agent.enabled"]
    engine.dispose()


@pytest.mark.parametrize("command", ["disable", "enable"])
def test_disable_or_enable_of_an_unknown_agent_says_how_to_add_one(env, command):
    result = run_ivr(["agents", command, "nobody"], env)
    assert result.exit_code == 1
    assert "ivr agents add nobody" in result.stderr
