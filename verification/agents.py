"""Who an agent is: console accounts, passwords, log-in throttling and console sessions.

Passwords are stored only as scrypt hashes (``werkzeug.security``). Nothing a log-in answers,
nor what it costs, depends on whether the username exists: an unknown or disabled username is
checked against a hash of the same cost, and failures are counted per username *as typed*
(real or not) and per client address, in the lockout counters (:mod:`verification.lockout`).

Each attempt is counted *before* its password is judged (:func:`verification.lockout.admit`),
in a transaction of its own committed before the slow hash: however a burst of guesses is
timed, at most ``max_failures`` attempts per username (and ``max_address_failures`` per
address) are judged before the subject locks for ``lockout``; the rest are refused unjudged.
A good log-in clears its username's count and gives back only its own attempt on the address,
so one account's password does not buy more guesses at others.

A console session lives in ``console_sessions``, keyed by the SHA-256 of a random key that only
the agent's cookie holds. It ends at log-out, when the agent is disabled, after ``idle`` without
the agent doing anything, and ``lifetime`` after log-in at the latest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

from ivr.config import Settings
from ivr.db import transaction
from ivr.models import Agent, ConsoleSession
from verification import lockout

MIN_PASSWORD_LENGTH = 12
USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")
_HASH_METHOD = "scrypt"
# Checked when the username is unknown, so every judged attempt costs one scrypt.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method=_HASH_METHOD)
# A session's last-seen time is written at most this often: one read per console request.
SEEN_EVERY = dt.timedelta(minutes=1)


class AgentError(ValueError):
    """A username or password that cannot be used; the message says why."""


class LoginOutcome(StrEnum):
    OK = "success"
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"
    DISABLED = "disabled"


@dataclass(frozen=True)
class LoginPolicy:
    """Log-in throttling and session lifetimes. ``check_password`` is the hash check (a seam
    that tests count calls through; it must cost the same for every hash it is given)."""

    max_failures: int
    max_address_failures: int
    lockout: dt.timedelta
    idle: dt.timedelta
    lifetime: dt.timedelta
    check_password: Callable[[str, str], bool] = field(default=check_password_hash)

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginPolicy:
        return cls(
            max_failures=settings.AGENT_MAX_FAILED_LOGINS,
            max_address_failures=settings.AGENT_MAX_FAILED_LOGINS_PER_ADDRESS,
            lockout=dt.timedelta(minutes=settings.AGENT_LOCKOUT_MINUTES),
            idle=dt.timedelta(minutes=settings.CONSOLE_IDLE_MINUTES),
            lifetime=dt.timedelta(minutes=settings.AGENT_SESSION_MINUTES),
        )


@dataclass(frozen=True)
class Login:
    """What a log-in attempt came to. ``agent`` names who it was for (for the audit log
    only: the answer to the browser must not differ); ``session_key`` goes in the cookie."""

    outcome: LoginOutcome
    agent: Agent | None = None
    locked_until: dt.datetime | None = None
    session_key: str | None = None


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
    )
    session.add(agent)
    session.flush()
    return agent


def username_subject(username: str) -> str:
    """The lockout subject of a username as typed, whether or not such an agent exists."""
    return f"agent-login:{username.strip().lower()[:64]}"


def address_subject(address: str) -> str:
    return f"agent-login-from:{address[:60]}"


def set_disabled(session: Session, agent: Agent, disabled: bool, *, actor: str) -> None:
    """Disabling ends the agent's console sessions at once; enabling also lifts a log-in lock
    on the username (audited as ``actor``'s)."""
    agent.disabled = disabled
    if disabled:
        session.execute(delete(ConsoleSession).where(ConsoleSession.agent_id == agent.id))
    else:
        lockout.lift(session, username_subject(agent.username), actor=actor)


# --- log-in ---


def _throttles(name: str, address: str, policy: LoginPolicy) -> list[lockout.Throttle]:
    """A log-in counts against the username as typed (which a success proves) and against the
    client's address (which it does not)."""
    return [
        lockout.Throttle(username_subject(name), policy.max_failures, cleared_by_success=True),
        lockout.Throttle(address_subject(address), policy.max_address_failures),
    ]


def authenticate(
    factory: sessionmaker[Session],
    username: str,
    password: str,
    address: str,
    policy: LoginPolicy,
    now: dt.datetime,
) -> Login:
    """Count a log-in attempt, then judge it; on success, open a console session.

    The count commits before the password is hashed, so the slow hash holds no lock and a
    burst of guesses cannot all be judged against one old count. A disabled agent is answered
    like a wrong password (and counted like one).
    """
    name = username.strip().lower()
    throttles = _throttles(name, address, policy)
    with transaction(factory) as session:
        admission = lockout.admit(session, throttles, policy.lockout, now)
        agent = find_agent(session, name)
        if admission is None:
            until = lockout.blocked_until(session, throttles, policy.lockout, now)
            return Login(LoginOutcome.LOCKED, agent, until)
    matches = policy.check_password(agent.password_hash if agent else _DUMMY_HASH, password)
    with transaction(factory) as session:
        if agent is None or not matches or agent.disabled:
            until = lockout.failed(session, admission, policy.lockout, now)
            if until is not None:
                return Login(LoginOutcome.LOCKED, agent, until)
            disabled = agent is not None and agent.disabled and matches
            return Login(LoginOutcome.DISABLED if disabled else LoginOutcome.BAD_CREDENTIALS, agent)
        lockout.succeeded(session, admission)
        session.execute(update(Agent).where(Agent.id == agent.id).values(last_login_at=now))
        key = start_session(session, agent.id, policy, now)
    return Login(LoginOutcome.OK, agent, session_key=key)


# --- console sessions ---


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start_session(session: Session, agent_id: int, policy: LoginPolicy, now: dt.datetime) -> str:
    """A new console session for the agent (and the agent's ended ones cleared away); the key
    for the cookie."""
    session.execute(
        delete(ConsoleSession).where(
            ConsoleSession.agent_id == agent_id,
            or_(
                ConsoleSession.last_seen_at <= now - policy.idle,
                ConsoleSession.created_at <= now - policy.lifetime,
            ),
        )
    )
    key = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(key_hash=_key_hash(key), agent_id=agent_id, created_at=now, last_seen_at=now)
    )
    return key


def session_agent(
    session: Session, key: str, policy: LoginPolicy, now: dt.datetime, *, extend: bool
) -> Agent | None:
    """The agent signed in with ``key``, or ``None`` once the session has ended (an ended
    session found here is deleted). ``extend`` when the agent did something: the idle clock
    restarts, written at most every :data:`SEEN_EVERY`."""
    row = session.execute(
        select(ConsoleSession, Agent)
        .join(Agent, Agent.id == ConsoleSession.agent_id)
        .where(ConsoleSession.key_hash == _key_hash(key))
    ).one_or_none()
    if row is None:
        return None
    console, agent = row
    if (
        agent.disabled
        or now - console.last_seen_at >= policy.idle
        or now - console.created_at >= policy.lifetime
    ):
        session.delete(console)
        return None
    if extend and now - console.last_seen_at >= SEEN_EVERY:
        console.last_seen_at = now
    return agent


def end_session(session: Session, key: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.key_hash == _key_hash(key)))
