"""Agent log-in throttling and console sessions, at the domain level: time is what the code is
given (``now``), and the hash check is counted through the policy's seam (the real scrypt check
still does the work)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import check_password_hash

from ivr.config import Settings
from ivr.db import transaction
from ivr.models import Agent, ConsoleSession
from tests.support.agent_desk import PASSWORD, make_agent
from tests.support.factories import NOW
from verification import lockout
from verification.agents import (
    SEEN_EVERY,
    LoginOutcome,
    LoginPolicy,
    authenticate,
    end_session,
    session_agent,
    set_disabled,
)

ADDRESS = "192.0.2.10"
MINUTE = dt.timedelta(minutes=1)


class CountingCheck:
    """The real password check, counted (thread-safe: the burst test calls it in parallel)."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, hashed: str, password: str) -> bool:
        with self.lock:
            self.calls += 1
        return check_password_hash(hashed, password)


@pytest.fixture
def checks() -> CountingCheck:
    return CountingCheck()


@pytest.fixture
def policy(settings: Settings, checks: CountingCheck) -> LoginPolicy:
    return dataclasses.replace(LoginPolicy.from_settings(settings), check_password=checks)


@pytest.fixture
def alice(db: Session) -> int:
    return make_agent(db)


def log_in(
    factory: sessionmaker[Session],
    policy: LoginPolicy,
    username: str = "alice",
    password: str = PASSWORD,
    at: dt.datetime = NOW,
    address: str = ADDRESS,
):
    return authenticate(factory, username, password, address, policy, at)


def agent_of(
    factory: sessionmaker[Session],
    policy: LoginPolicy,
    key: str,
    at: dt.datetime,
    *,
    extend: bool = True,
) -> str | None:
    with transaction(factory) as session:
        agent = session_agent(session, key, policy, at, extend=extend)
        return agent.username if agent else None


# --- throttling ---


def test_unknown_and_real_usernames_cost_one_hash_check_and_lock_alike(
    standalone_factory, alice, policy, checks
):
    for name in ("alice", "nobody"):
        checks.calls = 0
        answers = [
            log_in(standalone_factory, policy, name, "wrong password", NOW + n * MINUTE)
            for n in range(policy.max_failures + 2)
        ]
        outcomes = [answer.outcome for answer in answers]
        allowed = policy.max_failures
        assert (
            outcomes == [LoginOutcome.BAD_CREDENTIALS] * (allowed - 1) + [LoginOutcome.LOCKED] * 3
        )
        # the failure that reached the limit locks for the lockout period from then
        until = NOW + (allowed - 1) * MINUTE + policy.lockout
        assert {answer.locked_until for answer in answers[allowed - 1 :]} == {until}
        assert checks.calls == allowed  # judged while allowed, with a scrypt check each time


def test_the_lock_ends_with_its_window_and_the_right_password_works_again(
    standalone_factory, alice, policy
):
    for _ in range(policy.max_failures):
        log_in(standalone_factory, policy, password="wrong password")
    assert log_in(standalone_factory, policy, at=NOW + MINUTE).outcome is LoginOutcome.LOCKED
    later = NOW + policy.lockout + MINUTE
    assert log_in(standalone_factory, policy, at=later).outcome is LoginOutcome.OK


def test_a_good_log_in_clears_its_username_but_not_its_address(
    standalone_factory, db, alice, policy
):
    make_agent(db, "bob")
    strict = dataclasses.replace(policy, max_address_failures=4)
    for name in ("nobody", "nobody", "bob"):
        log_in(standalone_factory, strict, name, "wrong password")
    assert log_in(standalone_factory, strict).outcome is LoginOutcome.OK
    # alice's success took back only its own attempt: three failures still count
    assert log_in(standalone_factory, strict, "bob", "wrong password").outcome is (
        LoginOutcome.LOCKED
    )
    assert log_in(standalone_factory, strict).outcome is LoginOutcome.LOCKED
    elsewhere = log_in(standalone_factory, strict, address="198.51.100.7")
    assert elsewhere.outcome is LoginOutcome.OK


def test_a_disabled_agent_is_refused_and_counted_like_a_wrong_password(
    standalone_factory, db, alice, policy, checks
):
    with transaction(standalone_factory) as session:
        set_disabled(session, session.get(Agent, alice), True, actor="operator")
    outcomes = [log_in(standalone_factory, policy).outcome for _ in range(policy.max_failures + 1)]
    assert outcomes[0] is LoginOutcome.DISABLED
    assert outcomes[-2:] == [LoginOutcome.LOCKED, LoginOutcome.LOCKED]
    assert checks.calls == policy.max_failures


def test_enabling_an_agent_lifts_the_log_in_lock(standalone_factory, alice, policy):
    for _ in range(policy.max_failures):
        log_in(standalone_factory, policy, password="wrong password")
    with transaction(standalone_factory) as session:
        set_disabled(session, session.get(Agent, alice), False, actor="operator")
    assert log_in(standalone_factory, policy).outcome is LoginOutcome.OK


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("username", ["alice", "nobody"])
def test_a_burst_of_parallel_guesses_gets_no_more_judged_than_the_limit(
    standalone_factory, alice, policy, checks, username
):
    """50 log-ins at once for one username, each from its own address: never more than
    ``max_failures`` are judged, and afterwards the right password is refused too."""
    burst = 50
    start = threading.Barrier(burst)

    def attempt(n: int) -> LoginOutcome:
        start.wait()
        address = f"198.51.100.{n}"
        return log_in(standalone_factory, policy, username, f"wrong {n}", address=address).outcome

    with ThreadPoolExecutor(burst) as pool:
        outcomes = list(pool.map(attempt, range(burst)))

    assert checks.calls == policy.max_failures
    assert outcomes.count(LoginOutcome.BAD_CREDENTIALS) == policy.max_failures - 1
    with transaction(standalone_factory) as session:
        [lock] = lockout.locks(session, NOW, [f"agent-login:{username}"])
    assert lock.until == NOW + policy.lockout
    right = log_in(standalone_factory, policy, username, PASSWORD, NOW + MINUTE)
    assert right.outcome is LoginOutcome.LOCKED
    assert checks.calls == policy.max_failures


# --- console sessions ---


@pytest.fixture
def key(standalone_factory, alice, policy) -> Iterator[str]:
    login = log_in(standalone_factory, policy)
    assert login.outcome is LoginOutcome.OK and login.session_key
    yield login.session_key


def test_a_session_key_names_its_agent_and_only_its_hash_is_stored(standalone_factory, policy, key):
    assert agent_of(standalone_factory, policy, key, NOW) == "alice"
    assert agent_of(standalone_factory, policy, key + "x", NOW) is None
    with transaction(standalone_factory) as session:
        [row] = session.scalars(select(ConsoleSession))
        assert key not in row.key_hash and len(row.key_hash) == 64


def test_a_session_ends_after_the_idle_time_without_the_agent(standalone_factory, policy, key):
    idle = policy.idle
    assert agent_of(standalone_factory, policy, key, NOW + idle - MINUTE) == "alice"
    # the agent acted a minute before the end: the idle clock starts again from there
    seen = NOW + idle + MINUTE
    assert agent_of(standalone_factory, policy, key, seen) == "alice"
    # the page's own requests (extend=False) keep nothing alive
    assert agent_of(standalone_factory, policy, key, seen + idle - MINUTE, extend=False)
    assert agent_of(standalone_factory, policy, key, seen + idle) is None
    assert agent_of(standalone_factory, policy, key, seen) is None  # ended for good


def test_last_seen_is_written_at_most_once_a_minute(standalone_factory, policy, key):
    def seen() -> dt.datetime:
        with transaction(standalone_factory) as session:
            return session.scalars(select(ConsoleSession.last_seen_at)).one()

    agent_of(standalone_factory, policy, key, NOW + SEEN_EVERY / 2)
    assert seen() == NOW
    agent_of(standalone_factory, policy, key, NOW + SEEN_EVERY)
    assert seen() == NOW + SEEN_EVERY


def test_a_session_ends_at_its_lifetime_however_active(standalone_factory, policy, key):
    step = policy.idle / 2
    at = NOW
    while at + step < NOW + policy.lifetime:
        at += step
        assert agent_of(standalone_factory, policy, key, at) == "alice"
    assert agent_of(standalone_factory, policy, key, NOW + policy.lifetime) is None


def test_log_out_and_disable_end_sessions(standalone_factory, alice, policy, key):
    other = log_in(standalone_factory, policy).session_key
    with transaction(standalone_factory) as session:
        end_session(session, key)
    assert agent_of(standalone_factory, policy, key, NOW) is None
    assert agent_of(standalone_factory, policy, other, NOW) == "alice"
    with transaction(standalone_factory) as session:
        set_disabled(session, session.get(Agent, alice), True, actor="operator")
        assert session.scalar(select(func.count()).select_from(ConsoleSession)) == 0
    assert agent_of(standalone_factory, policy, other, NOW) is None


def test_a_new_log_in_clears_the_agents_ended_sessions(standalone_factory, policy, key):
    log_in(standalone_factory, policy, at=NOW + policy.idle + MINUTE)
    with transaction(standalone_factory) as session:
        assert session.scalar(select(func.count()).select_from(ConsoleSession)) == 1
    assert agent_of(standalone_factory, policy, key, NOW + policy.idle + MINUTE) is None
