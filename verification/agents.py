"""Who an agent is: console accounts, passwords, log-in throttling and console sessions.

Passwords are stored only as scrypt hashes (``werkzeug.security``). Nothing a log-in answers,
nor what it costs, depends on whether the username exists: an unknown or disabled username is
checked against a hash of the same cost, and failures are counted per username *as typed*
(real or not) and per client address, in the lockout counters (:mod:`verification.lockout`).

Each attempt is counted *before* its password is judged, with one atomic upsert per counter in
a transaction of its own, committed before the slow hash: however a burst of guesses is timed,
at most ``max_failures`` attempts per username (and ``max_address_failures`` per address) are
judged in a ``lockout`` window; the rest are refused unjudged until the window ends. A good
log-in clears its username's count and takes back only its own attempt from the address's, so
one account's password does not buy more guesses at others.

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

from sqlalchemy import case, delete, literal, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

from ivr.config import Settings
from ivr.db import insert_on_conflict, transaction
from ivr.models import Agent, ConsoleSession, LockoutCounter, UTCDateTime

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


def set_disabled(session: Session, agent: Agent, disabled: bool) -> None:
    """Disabling ends the agent's console sessions at once; enabling also lifts a log-in lock."""
    agent.disabled = disabled
    if disabled:
        session.execute(delete(ConsoleSession).where(ConsoleSession.agent_id == agent.id))
    else:
        session.execute(
            delete(LockoutCounter).where(LockoutCounter.subject == username_subject(agent.username))
        )


# --- log-in ---


def _count(
    session: Session, subject: str, window: dt.timedelta, now: dt.datetime
) -> tuple[int, dt.datetime]:
    """Count one attempt on ``subject`` with one atomic upsert (a new window starts once the
    old one is over); the count so far and when its window started."""
    stale = LockoutCounter.window_started_at < now - window
    upsert = insert_on_conflict(session, LockoutCounter).values(
        subject=subject, failures=1, window_started_at=now
    )
    statement = upsert.on_conflict_do_update(
        index_elements=[LockoutCounter.subject],
        set_={
            "failures": case((stale, 1), else_=LockoutCounter.failures + 1),
            # Typed, so ``now`` is stored as naive UTC like every other time in the database.
            "window_started_at": case(
                (stale, literal(now, UTCDateTime())), else_=LockoutCounter.window_started_at
            ),
        },
    ).returning(LockoutCounter.failures, LockoutCounter.window_started_at)
    failures, started = session.execute(statement).one()
    return int(failures), started


@dataclass(frozen=True)
class _Admission:
    """An attempt, counted: the agent it names; ``refused_until`` when a count was already
    over its limit (the attempt is not judged); ``last_until`` when this attempt was the last
    one a limit allows (a failure then locks until the window ends)."""

    agent: Agent | None
    refused_until: dt.datetime | None
    last_until: dt.datetime | None


def _admit(
    session: Session, name: str, address: str, policy: LoginPolicy, now: dt.datetime
) -> _Admission:
    """Count the attempt against the username and the address (always in the same order, so
    concurrent attempts never deadlock)."""
    limits = {
        username_subject(name): policy.max_failures,
        address_subject(address): policy.max_address_failures,
    }
    over: list[dt.datetime] = []
    reached: list[dt.datetime] = []
    for subject in sorted(limits):
        failures, started = _count(session, subject, policy.lockout, now)
        if failures >= limits[subject]:
            (over if failures > limits[subject] else reached).append(started + policy.lockout)
    return _Admission(
        find_agent(session, name), max(over, default=None), max(reached, default=None)
    )


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
    with transaction(factory) as session:
        admission = _admit(session, name, address, policy, now)
    agent = admission.agent
    if admission.refused_until is not None:
        return Login(LoginOutcome.LOCKED, agent, admission.refused_until)
    matches = policy.check_password(agent.password_hash if agent else _DUMMY_HASH, password)
    if agent is None or not matches or agent.disabled:
        if admission.last_until is not None:
            return Login(LoginOutcome.LOCKED, agent, admission.last_until)
        disabled = agent is not None and agent.disabled and matches
        return Login(LoginOutcome.DISABLED if disabled else LoginOutcome.BAD_CREDENTIALS, agent)
    with transaction(factory) as session:
        # Take back this attempt: the address's by one, the username's (now proven) in full.
        session.execute(
            update(LockoutCounter)
            .where(LockoutCounter.subject == address_subject(address), LockoutCounter.failures > 0)
            .values(failures=LockoutCounter.failures - 1)
        )
        session.execute(
            update(LockoutCounter)
            .where(LockoutCounter.subject == username_subject(name))
            .values(failures=0)
        )
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
