"""Counting verification attempts per subject before they are judged, and locking subjects out."""

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db import transaction
from ivr.models import AuditEvent, LockoutCounter
from tests.support.factories import NOW
from verification import lockout

SUBJECT = lockout.account_subject("70000001")
CALLER = lockout.caller_subject("+12025550123")
LIMIT = 3
PERIOD = dt.timedelta(minutes=30)
MINUTE = dt.timedelta(minutes=1)
ACCOUNT = lockout.Throttle(SUBJECT, LIMIT, hard_after=3, cleared_by_success=True)


def throttle(subject: str = SUBJECT, limit: int = LIMIT) -> lockout.Throttle:
    return ACCOUNT if subject == SUBJECT and limit == LIMIT else lockout.Throttle(subject, limit)


def attempt(
    factory: sessionmaker[Session],
    at: dt.datetime,
    *throttles: lockout.Throttle,
    ok: bool = False,
) -> dt.datetime | bool | None:
    """One attempt judged ``ok`` or not: ``False`` if refused unjudged, else the lock it set."""
    with transaction(factory) as session:
        admission = lockout.admit(session, throttles or (ACCOUNT,), PERIOD, at)
        if admission is None:
            return False
        if ok:
            lockout.succeeded(session, admission)
            return None
        return lockout.failed(session, admission, PERIOD, at)


def blocked(factory: sessionmaker[Session], at: dt.datetime, *throttles: lockout.Throttle):
    with transaction(factory) as session:
        return lockout.blocked_until(session, throttles or (ACCOUNT,), PERIOD, at)


def counter(factory: sessionmaker[Session], subject: str = SUBJECT) -> LockoutCounter | None:
    with transaction(factory) as session:
        return session.get(LockoutCounter, subject)


def failures(factory: sessionmaker[Session], subject: str = SUBJECT) -> int:
    row = counter(factory, subject)
    return row.failures if row else 0


def test_subjects_name_what_they_count() -> None:
    assert lockout.account_subject("70000001") == "account:70000001"
    assert lockout.caller_subject("+12025550123") == "caller:+12025550123"
    assert lockout.escalation_subject(SUBJECT) == "locks:account:70000001"


def test_nothing_is_locked_without_failures(standalone_factory: sessionmaker[Session]) -> None:
    assert blocked(standalone_factory, NOW) is None


def test_failures_below_the_limit_do_not_lock(standalone_factory: sessionmaker[Session]) -> None:
    for n in range(LIMIT - 1):
        assert attempt(standalone_factory, NOW + n * MINUTE) is None
    assert failures(standalone_factory) == LIMIT - 1
    assert blocked(standalone_factory, NOW + LIMIT * MINUTE) is None


def test_reaching_the_limit_locks_for_the_period(standalone_factory: sessionmaker[Session]) -> None:
    for n in range(LIMIT - 1):
        attempt(standalone_factory, NOW + n * MINUTE)
    last = NOW + 10 * MINUTE
    assert attempt(standalone_factory, last) == last + PERIOD
    assert blocked(standalone_factory, last) == last + PERIOD
    assert blocked(standalone_factory, last + PERIOD - dt.timedelta(seconds=1)) == last + PERIOD
    assert blocked(standalone_factory, last + PERIOD) is None
    # The lock starts a fresh count.
    assert failures(standalone_factory) == 0


def test_a_locked_subject_refuses_even_the_right_answer_unjudged_and_uncounted(
    standalone_factory: sessionmaker[Session],
) -> None:
    for _ in range(LIMIT):
        attempt(standalone_factory, NOW)
    before = counter(standalone_factory)
    assert attempt(standalone_factory, NOW + MINUTE, ok=True) is False
    for _ in range(10 * LIMIT):
        assert attempt(standalone_factory, NOW + MINUTE) is False
    after = counter(standalone_factory)
    assert before is not None and after is not None
    assert (after.failures, after.window_started_at, after.locked_until) == (
        before.failures, before.window_started_at, before.locked_until,
    )  # fmt: skip
    # A refused burst is not a lock: the escalation count is still one.
    assert failures(standalone_factory, lockout.escalation_subject(SUBJECT)) == 1


def test_failures_older_than_the_period_stop_counting(
    standalone_factory: sessionmaker[Session],
) -> None:
    for n in range(LIMIT - 1):
        attempt(standalone_factory, NOW + n * MINUTE)
    later = NOW + PERIOD + dt.timedelta(seconds=1)
    assert attempt(standalone_factory, later) is None
    assert failures(standalone_factory) == 1
    # The new window counts from its own first failure.
    assert attempt(standalone_factory, later + MINUTE) is None
    assert attempt(standalone_factory, later + 2 * MINUTE) == later + 2 * MINUTE + PERIOD


def test_a_failure_at_the_end_of_the_window_still_counts(
    standalone_factory: sessionmaker[Session],
) -> None:
    for _ in range(LIMIT - 1):
        attempt(standalone_factory, NOW)
    assert attempt(standalone_factory, NOW + PERIOD) == NOW + 2 * PERIOD


def test_a_success_clears_the_account_it_proved(standalone_factory: sessionmaker[Session]) -> None:
    for n in range(LIMIT - 1):
        attempt(standalone_factory, NOW + n * MINUTE)
    assert attempt(standalone_factory, NOW + 3 * MINUTE, ok=True) is None
    assert failures(standalone_factory) == 0
    for n in range(LIMIT - 1):
        assert attempt(standalone_factory, NOW + (5 + n) * MINUTE) is None
    assert attempt(standalone_factory, NOW + 9 * MINUTE) == NOW + 9 * MINUTE + PERIOD


def test_a_success_only_gives_back_its_reservation_on_other_subjects(
    standalone_factory: sessionmaker[Session],
) -> None:
    caller = throttle(CALLER, 5)
    for n in range(4):
        attempt(standalone_factory, NOW, throttle(lockout.account_subject(f"8000000{n}")), caller)
    assert attempt(standalone_factory, NOW + MINUTE, ACCOUNT, caller, ok=True) is None
    assert failures(standalone_factory, CALLER) == 4
    assert failures(standalone_factory, SUBJECT) == 0
    # One more failure from that caller, on any account, reaches its limit.
    assert attempt(standalone_factory, NOW + 2 * MINUTE, ACCOUNT, caller) == NOW + 2 * MINUTE + (
        PERIOD
    )


def test_a_refusal_by_one_subject_counts_against_none(
    standalone_factory: sessionmaker[Session],
) -> None:
    caller = throttle(CALLER, 1)
    attempt(standalone_factory, NOW, throttle(lockout.account_subject("80000000")), caller)
    assert attempt(standalone_factory, NOW + MINUTE, ACCOUNT, caller) is False
    assert failures(standalone_factory) == 0


def test_subjects_are_counted_apart(standalone_factory: sessionmaker[Session]) -> None:
    other = throttle(CALLER)
    for _ in range(LIMIT):
        attempt(standalone_factory, NOW)
    assert attempt(standalone_factory, NOW, other) is None
    assert failures(standalone_factory, CALLER) == 1
    assert blocked(standalone_factory, NOW, other) is None
    assert blocked(standalone_factory, NOW, other, ACCOUNT) == NOW + PERIOD


def test_the_latest_lock_of_several_subjects_wins(
    standalone_factory: sessionmaker[Session],
) -> None:
    other = throttle(CALLER)
    for _ in range(LIMIT):
        attempt(standalone_factory, NOW)
        attempt(standalone_factory, NOW + 5 * MINUTE, other)
    assert blocked(standalone_factory, NOW + 6 * MINUTE, ACCOUNT, other) == (
        NOW + 5 * MINUTE + PERIOD
    )


def test_a_window_counted_full_under_a_higher_limit_blocks_until_it_ends(
    standalone_factory: sessionmaker[Session],
) -> None:
    for _ in range(4):
        attempt(standalone_factory, NOW, throttle(SUBJECT, 10))
    assert blocked(standalone_factory, NOW + MINUTE) == NOW + PERIOD
    assert attempt(standalone_factory, NOW + MINUTE) is False
    assert attempt(standalone_factory, NOW + PERIOD + MINUTE) is None


def test_lift_forgets_the_lock_and_its_escalation_and_is_audited(
    standalone_factory: sessionmaker[Session],
) -> None:
    for _ in range(LIMIT):
        attempt(standalone_factory, NOW)
    with transaction(standalone_factory) as session:
        [lock] = lockout.locks(session, NOW)
        assert (lock.subject, lock.until, lock.locks_today, lock.hard) == (
            SUBJECT, NOW + PERIOD, 1, False,
        )  # fmt: skip
        assert lockout.lift(session, SUBJECT, actor="operator:ann")
        assert not lockout.lift(session, "caller:+12025550199", actor="operator:ann")
    assert counter(standalone_factory) is None
    assert counter(standalone_factory, lockout.escalation_subject(SUBJECT)) is None
    with transaction(standalone_factory) as session:
        assert lockout.locks(session, NOW) == []
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [(e.action, e.actor, e.resource) for e in events] == [
            ("lockout.reset", "operator:ann", SUBJECT),
            ("lockout.reset", "operator:ann", "caller:+12025550199"),
        ]


@pytest.mark.postgres_only
def test_concurrent_failures_are_all_counted(
    standalone_factory: sessionmaker[Session], standalone_engine: Engine
) -> None:
    if standalone_engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE); the race needs PostgreSQL")
    threads, rounds = 8, 5
    start = threading.Barrier(threads)
    roomy = throttle(SUBJECT, 10_000)

    def worker() -> None:
        start.wait(timeout=30)
        for _ in range(rounds):
            attempt(standalone_factory, NOW, roomy)

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(worker) for _ in range(threads)]:
            future.result(timeout=60)
    assert failures(standalone_factory) == threads * rounds
    assert blocked(standalone_factory, NOW, roomy) is None


def test_a_burst_admits_at_most_the_limit(standalone_factory: sessionmaker[Session]) -> None:
    """50 attempts at once, each slow to be judged: only LIMIT are ever admitted."""
    threads = 50
    start = threading.Barrier(threads)
    admitted: list[int] = []

    def worker() -> None:
        start.wait(timeout=30)
        with transaction(standalone_factory) as session:
            admission = lockout.admit(session, [ACCOUNT], PERIOD, NOW)
            if admission is not None:
                admitted.append(admission.counts[0])
                time.sleep(0.01)  # judging takes a moment: the window the race needs
                lockout.failed(session, admission, PERIOD, NOW)

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(worker) for _ in range(threads)]:
            future.result(timeout=120)
    assert sorted(admitted) == list(range(1, LIMIT + 1))
    assert blocked(standalone_factory, NOW) == NOW + PERIOD
    assert failures(standalone_factory, lockout.escalation_subject(SUBJECT)) == 1
