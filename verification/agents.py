"""Who an agent is: console accounts, passwords and log-in lockout.

Passwords are stored only as scrypt hashes (``werkzeug.security``). An unknown username costs
the same hash check as a known one, so timing does not tell which usernames exist. After
``max_failures`` wrong passwords in a row an agent is locked for ``lockout``; a good log-in
resets the count.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ivr.config import Settings
from ivr.models import Agent

MIN_PASSWORD_LENGTH = 12
USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")
_HASH_METHOD = "scrypt"
# Checked when the username is unknown, so both paths cost one scrypt.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method=_HASH_METHOD)


class AgentError(ValueError):
    """A username or password that cannot be used; the message says why."""


class LoginOutcome(StrEnum):
    OK = "success"
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"
    DISABLED = "disabled"


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int
    lockout: dt.timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginPolicy:
        return cls(
            settings.AGENT_MAX_FAILED_LOGINS, dt.timedelta(minutes=settings.AGENT_LOCKOUT_MINUTES)
        )


@dataclass(frozen=True)
class Login:
    outcome: LoginOutcome
    agent: Agent | None = None
    locked_until: dt.datetime | None = None


def find_agent(session: Session, username: str) -> Agent | None:
    return session.scalars(select(Agent).where(Agent.username == username.lower())).one_or_none()


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not (2 <= len(name) <= 64 and set(name) <= USERNAME_CHARS):
        raise AgentError(
            "A username is 2 to 64 characters: letters, digits, dots, dashes and underscores."
        )
    return name


def add_agent(session: Session, username: str, password: str) -> Agent:
    name = check_username(username)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AgentError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    if find_agent(session, name) is not None:
        raise AgentError(f"Agent {name} already exists.")
    agent = Agent(
        username=name,
        password_hash=generate_password_hash(password, method=_HASH_METHOD),
        disabled=False,
        failed_logins=0,
    )
    session.add(agent)
    session.flush()
    return agent


def authenticate(
    session: Session, username: str, password: str, policy: LoginPolicy, now: dt.datetime
) -> Login:
    """Check a log-in attempt and count it (the agent row is locked while it is counted)."""
    agent = session.scalars(
        select(Agent).where(Agent.username == username.strip().lower()).with_for_update()
    ).one_or_none()
    matches = check_password_hash(agent.password_hash if agent else _DUMMY_HASH, password)
    if agent is None:
        return Login(LoginOutcome.BAD_CREDENTIALS)
    if agent.disabled:
        return Login(LoginOutcome.DISABLED, agent)
    if agent.locked_until is not None and agent.locked_until > now:
        return Login(LoginOutcome.LOCKED, agent, agent.locked_until)
    if not matches:
        agent.failed_logins += 1
        if agent.failed_logins >= policy.max_failures:
            agent.failed_logins = 0
            agent.locked_until = now + policy.lockout
            return Login(LoginOutcome.LOCKED, agent, agent.locked_until)
        return Login(LoginOutcome.BAD_CREDENTIALS, agent)
    agent.failed_logins = 0
    agent.locked_until = None
    agent.last_login_at = now
    return Login(LoginOutcome.OK, agent)
