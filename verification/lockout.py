"""Counting failed verifications and locking subjects out.

Counters are bumped with one atomic upsert, so concurrent calls against one account cannot
lose a failure. A window starts at the first failure; failures older than the lockout period
stop counting.

Locks escalate: a subject locked ``hard_after`` times within a day stays locked until an
operator runs ``ivr accounts unlock`` (a patient guesser gets ``hard_after`` times the attempts
per day, then none). Callers who withhold their number share one subject, so enumerating
account numbers anonymously is throttled too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, literal, select, update
from sqlalchemy.orm import Session

from ivr.db import insert_on_conflict
from ivr.models import LockoutCounter, UTCDateTime

HARD_LOCK = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)  # "until unlocked", with headroom for date math
ESCALATION_WINDOW = dt.timedelta(days=1)
ANONYMOUS = "caller:anonymous"


def is_hard(until: dt.datetime | None) -> bool:
    return until is not None and until >= HARD_LOCK


def account_subject(number: str) -> str:
    return f"account:{number}"


def caller_subject(e164: str) -> str:
    return f"caller:{e164}"


@dataclass(frozen=True)
class Standing:
    """Where ``subjects`` stand: the latest lock in force, and failures counted towards one."""

    locked_until: dt.datetime | None
    failures: int


def standing(session: Session, subjects: list[str], now: dt.datetime) -> Standing:
    """One read of every subject's counter (a success then clears only what it must)."""
    query = select(LockoutCounter.locked_until, LockoutCounter.failures).where(
        LockoutCounter.subject.in_(subjects)
    )
    rows = session.execute(query).all()
    ends = [end for end, _ in rows if end is not None and end > now]
    return Standing(max(ends, default=None), sum(failures for _, failures in rows))


def locked_until(session: Session, subjects: list[str], now: dt.datetime) -> dt.datetime | None:
    """The latest lock in force on any of ``subjects``, or ``None``."""
    return standing(session, subjects, now).locked_until


def _bump(session: Session, subject: str, window: dt.timedelta, now: dt.datetime) -> int:
    """Add one to ``subject``'s count in its current window (one atomic upsert); the count."""
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
    ).returning(LockoutCounter.failures)
    return int(session.execute(statement).scalar_one())


def record_failure(
    session: Session,
    subject: str,
    limit: int,
    period: dt.timedelta,
    now: dt.datetime,
    hard_after: int = 0,
) -> dt.datetime | None:
    """Count one failure; when it reaches ``limit``, lock for ``period`` (for good, once this
    is the ``hard_after``-th lock in a day) and return the end."""
    if _bump(session, subject, period, now) < limit:
        return None
    until = now + period
    if hard_after and _bump(session, f"locks:{subject}", ESCALATION_WINDOW, now) >= hard_after:
        until = HARD_LOCK
    session.execute(
        update(LockoutCounter)
        .where(LockoutCounter.subject == subject)
        .values(failures=0, locked_until=until, window_started_at=now)
    )
    return until


def clear(session: Session, subjects: list[str]) -> None:
    """Forget failures after a success (the lock, if any, has already been checked; callers
    that read :func:`standing` skip this when nothing was counted)."""
    session.execute(
        update(LockoutCounter).where(LockoutCounter.subject.in_(subjects)).values(failures=0)
    )
