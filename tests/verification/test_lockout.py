"""Counting failed verifications per subject and locking subjects out."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db import transaction
from ivr.models import LockoutCounter
from tests.verification.conftest import NOW
from verification import lockout

SUBJECT = lockout.account_subject("70000001")
LIMIT = 3
PERIOD = dt.timedelta(minutes=30)
MINUTE = dt.timedelta(minutes=1)


def fail(
    factory: sessionmaker[Session], at: dt.datetime, subject: str = SUBJECT
) -> dt.datetime | None:
    with transaction(factory) as session:
        return lockout.record_failure(session, subject, LIMIT, PERIOD, at)


def lock_end(factory: sessionmaker[Session], at: dt.datetime, *subjects: str) -> dt.datetime | None:
    with transaction(factory) as session:
        return lockout.locked_until(session, list(subjects or [SUBJECT]), at)


def failures(factory: sessionmaker[Session], subject: str = SUBJECT) -> int:
    with transaction(factory) as session:
        query = select(LockoutCounter.failures).where(LockoutCounter.subject == subject)
        return session.scalars(query).one()


def test_subjects_name_what_they_count() -> None:
    assert lockout.account_subject("70000001") == "account:70000001"
    assert lockout.caller_subject("+12025550123") == "caller:+12025550123"


def test_nothing_is_locked_without_failures(standalone_factory: sessionmaker[Session]) -> None:
    assert lock_end(standalone_factory, NOW) is None


def test_failures_below_the_limit_do_not_lock(standalone_factory: sessionmaker[Session]) -> None:
    for n in range(LIMIT - 1):
        assert fail(standalone_factory, NOW + n * MINUTE) is None
    assert failures(standalone_factory) == LIMIT - 1
    assert lock_end(standalone_factory, NOW + LIMIT * MINUTE) is None


def test_reaching_the_limit_locks_for_the_period(standalone_factory: sessionmaker[Session]) -> None:
    for n in range(LIMIT - 1):
        fail(standalone_factory, NOW + n * MINUTE)
    last = NOW + 10 * MINUTE
    assert fail(standalone_factory, last) == last + PERIOD
    assert lock_end(standalone_factory, last) == last + PERIOD
    assert lock_end(standalone_factory, last + PERIOD - dt.timedelta(seconds=1)) == last + PERIOD
    assert lock_end(standalone_factory, last + PERIOD) is None
    # The lock starts a fresh count.
    assert failures(standalone_factory) == 0


def test_failures_older_than_the_period_stop_counting(
    standalone_factory: sessionmaker[Session],
) -> None:
    for n in range(LIMIT - 1):
        fail(standalone_factory, NOW + n * MINUTE)
    later = NOW + PERIOD + dt.timedelta(seconds=1)
    assert fail(standalone_factory, later) is None
    assert failures(standalone_factory) == 1
    # The new window counts from its own first failure.
    assert fail(standalone_factory, later + MINUTE) is None
    assert fail(standalone_factory, later + 2 * MINUTE) == later + 2 * MINUTE + PERIOD


def test_a_failure_at_the_end_of_the_window_still_counts(
    standalone_factory: sessionmaker[Session],
) -> None:
    for _ in range(LIMIT - 1):
        fail(standalone_factory, NOW)
    assert fail(standalone_factory, NOW + PERIOD) == NOW + 2 * PERIOD


def test_clear_forgets_failures(standalone_factory: sessionmaker[Session]) -> None:
    for n in range(LIMIT - 1):
        fail(standalone_factory, NOW + n * MINUTE)
    with transaction(standalone_factory) as session:
        lockout.clear(session, [SUBJECT])
    assert failures(standalone_factory) == 0
    for n in range(LIMIT - 1):
        assert fail(standalone_factory, NOW + (5 + n) * MINUTE) is None
    assert fail(standalone_factory, NOW + 9 * MINUTE) == NOW + 9 * MINUTE + PERIOD


def test_clear_does_not_lift_a_lock(standalone_factory: sessionmaker[Session]) -> None:
    for _ in range(LIMIT):
        fail(standalone_factory, NOW)
    with transaction(standalone_factory) as session:
        lockout.clear(session, [SUBJECT])
    assert lock_end(standalone_factory, NOW + MINUTE) == NOW + PERIOD


def test_clear_of_an_unknown_subject_is_harmless(standalone_factory: sessionmaker[Session]) -> None:
    with transaction(standalone_factory) as session:
        lockout.clear(session, ["account:nobody"])
        assert session.scalars(select(LockoutCounter)).all() == []


def test_subjects_are_counted_apart(standalone_factory: sessionmaker[Session]) -> None:
    other = lockout.caller_subject("+12025550123")
    for _ in range(LIMIT):
        fail(standalone_factory, NOW)
    assert fail(standalone_factory, NOW, other) is None
    assert failures(standalone_factory, other) == 1
    assert lock_end(standalone_factory, NOW, other) is None
    assert lock_end(standalone_factory, NOW, other, SUBJECT) == NOW + PERIOD


def test_the_latest_lock_of_several_subjects_wins(
    standalone_factory: sessionmaker[Session],
) -> None:
    other = lockout.caller_subject("+12025550123")
    for _ in range(LIMIT):
        fail(standalone_factory, NOW)
        fail(standalone_factory, NOW + 5 * MINUTE, other)
    assert lock_end(standalone_factory, NOW + 6 * MINUTE, SUBJECT, other) == (
        NOW + 5 * MINUTE + PERIOD
    )


@pytest.mark.postgres_only
def test_concurrent_failures_are_all_counted(standalone_factory: sessionmaker[Session]) -> None:
    if standalone_factory.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE); the race needs PostgreSQL")
    threads, rounds = 8, 5
    start = threading.Barrier(threads)

    def worker() -> None:
        start.wait(timeout=30)
        for _ in range(rounds):
            with transaction(standalone_factory) as session:
                lockout.record_failure(session, SUBJECT, 10_000, PERIOD, NOW)

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(worker) for _ in range(threads)]:
            future.result(timeout=60)
    assert failures(standalone_factory) == threads * rounds
    assert lock_end(standalone_factory, NOW) is None
