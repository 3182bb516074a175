"""Counting verification attempts and locking subjects out.

An attempt is counted *before* it is judged: :func:`admit` reserves it on every subject's
counter with one upsert that only succeeds while the subject is unlocked and under its limit.
The upsert also locks the counter's row until the transaction ends (PostgreSQL's ``ON CONFLICT
DO UPDATE`` locks the row even when its ``WHERE`` refuses; SQLite takes its write lock at
``BEGIN``), so a limit of N admits at most N attempts per window however they are timed, and
the right answer is refused once N wrong ones were judged. A refused attempt changes nothing:
it neither counts nor locks again, so a burst against a locked subject cannot escalate it.

After the verdict, a failure stays counted and locks the subject at its limit; a success
gives its reservation back. Only the account a success proved forgets its failures: the
caller-ID and withheld-number counters decay with time, never with a success, so owning one
account does not buy more guesses at others.

A window starts at its first attempt; attempts older than the lockout period stop counting.
Locks escalate: an account locked ``hard_after`` times within a day stays locked until an
operator lifts it (``ivr locks clear`` or ``ivr accounts unlock``). Callers who withhold their
number share one subject, so enumerating account numbers anonymously is throttled too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, delete, literal, or_, select, update
from sqlalchemy.orm import Session

from ivr import audit
from ivr.db import insert_on_conflict
from ivr.models import LockoutCounter, UTCDateTime
from verification.lookup import normalize_phone

HARD_LOCK = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)  # "until unlocked", with headroom for date math
ESCALATION_WINDOW = dt.timedelta(days=1)
ANONYMOUS = "caller:anonymous"
ESCALATION_PREFIX = "locks:"


def is_hard(until: dt.datetime | None) -> bool:
    return until is not None and until >= HARD_LOCK


def account_subject(number: str) -> str:
    return f"account:{number}"


def caller_subject(e164: str) -> str:
    return f"caller:{e164}"


def caller_or_pool(e164: str | None) -> str:
    """The subject of a caller ID, or of the withheld-number pool when there is none."""
    return caller_subject(e164) if e164 else ANONYMOUS


def parse_subject(text: str, region: str = "US") -> str:
    """The subject an operator names: ``account:NUMBER``, ``caller:PHONE`` (any way of writing
    the number) or ``caller:anonymous`` for the withheld-number pool."""
    kind, _, value = text.strip().partition(":")
    value = value.strip()
    if kind == "account" and value.isdigit():
        return account_subject(value)
    if kind == "caller" and value == "anonymous":
        return ANONYMOUS
    if kind == "caller" and (e164 := normalize_phone(value, region)):
        return caller_subject(e164)
    raise ValueError(
        f"{text.strip()[:40]!r} is not a lock subject; name one as account:NUMBER, "
        "caller:PHONE or caller:anonymous (as `ivr locks list` shows them)"
    )


def escalation_subject(subject: str) -> str:
    """The counter of ``subject``'s locks in the escalation window."""
    return f"{ESCALATION_PREFIX}{subject}"


@dataclass(frozen=True)
class Throttle:
    """One subject an attempt counts against: ``limit`` failures lock it; ``hard_after``
    locks in a day lock it for good (0: never); ``cleared_by_success`` for the account
    subject only, whose failures a success proves were its owner's."""

    subject: str
    limit: int
    hard_after: int = 0
    cleared_by_success: bool = False


def _in_window(period: dt.timedelta, now: dt.datetime) -> ColumnElement[bool]:
    return LockoutCounter.window_started_at >= now - period


def _unlocked(now: dt.datetime) -> ColumnElement[bool]:
    return or_(LockoutCounter.locked_until.is_(None), LockoutCounter.locked_until <= now)


def _count(
    session: Session,
    subject: str,
    window: dt.timedelta,
    now: dt.datetime,
    limit: int | None = None,
) -> int | None:
    """Add one to ``subject``'s count in its current window (one atomic upsert) and return
    the count. With ``limit``, only while unlocked and under it: ``None`` when refused."""
    stale = LockoutCounter.window_started_at < now - window
    upsert = insert_on_conflict(session, LockoutCounter).values(
        subject=subject, failures=1, window_started_at=now
    )
    admissible = (
        None if limit is None else and_(_unlocked(now), or_(stale, LockoutCounter.failures < limit))
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
        where=admissible,
    ).returning(LockoutCounter.failures)
    counted = session.execute(statement).scalar_one_or_none()
    return None if counted is None else int(counted)


def _give_back(session: Session, subjects: Sequence[str]) -> None:
    """Return reserved attempts that were not failures."""
    failures = LockoutCounter.failures
    session.execute(
        update(LockoutCounter)
        .where(LockoutCounter.subject.in_(subjects))
        .values(failures=case((failures > 0, failures - 1), else_=0))
    )


@dataclass(frozen=True)
class Admission:
    """An attempt counted against every throttle, waiting for its verdict."""

    throttles: tuple[Throttle, ...]
    counts: tuple[int, ...]


def admit(
    session: Session, throttles: Sequence[Throttle], period: dt.timedelta, now: dt.datetime
) -> Admission | None:
    """Count one attempt against every throttle before it is judged, or against none when
    any of them is locked or full (``None``: refuse the attempt unjudged).

    Subjects are taken in name order, so two attempts sharing subjects never wait for each
    other's rows in a cycle.
    """
    ordered = tuple(sorted(throttles, key=lambda throttle: throttle.subject))
    counts: list[int] = []
    for throttle in ordered:
        count = _count(session, throttle.subject, period, now, limit=throttle.limit)
        if count is None:
            _give_back(session, [t.subject for t in ordered[: len(counts)]])
            return None
        counts.append(count)
    return Admission(ordered, tuple(counts))


def succeeded(session: Session, admission: Admission) -> None:
    """The attempt passed: the account it proved forgets its failures; every other subject
    only gets its reservation back, since their failures were not disproved."""
    cleared = [t.subject for t in admission.throttles if t.cleared_by_success]
    session.execute(
        update(LockoutCounter).where(LockoutCounter.subject.in_(cleared)).values(failures=0)
    )
    _give_back(session, [t.subject for t in admission.throttles if not t.cleared_by_success])


def failed(
    session: Session, admission: Admission, period: dt.timedelta, now: dt.datetime
) -> dt.datetime | None:
    """The attempt failed (it is already counted): lock each subject it brought to its limit,
    for ``period`` or for good at its ``hard_after``-th lock in a day. The latest end."""
    ends: list[dt.datetime] = []
    for throttle, count in zip(admission.throttles, admission.counts, strict=True):
        if count < throttle.limit:
            continue
        until = now + period
        if throttle.hard_after:
            locks = _count(session, escalation_subject(throttle.subject), ESCALATION_WINDOW, now)
            if locks is not None and locks >= throttle.hard_after:
                until = HARD_LOCK
        session.execute(
            update(LockoutCounter)
            .where(LockoutCounter.subject == throttle.subject)
            .values(failures=0, locked_until=until, window_started_at=now)
        )
        ends.append(until)
    return max(ends, default=None)


def blocked_until(
    session: Session, throttles: Sequence[Throttle], period: dt.timedelta, now: dt.datetime
) -> dt.datetime | None:
    """When ``throttles`` will admit an attempt again, or ``None`` if they would now: the
    latest lock in force, or the end of a window already counted full."""
    limits = {throttle.subject: throttle.limit for throttle in throttles}
    query = select(
        LockoutCounter.subject,
        LockoutCounter.failures,
        LockoutCounter.window_started_at,
        LockoutCounter.locked_until,
    ).where(LockoutCounter.subject.in_(limits))
    ends = []
    for subject, failures, started, until in session.execute(query):
        if until is not None and until > now:
            ends.append(until)
        elif failures >= limits[subject] and started + period >= now:
            ends.append(started + period)
    return max(ends, default=None)


@dataclass(frozen=True)
class Lock:
    """A lock in force, as operators and agents see it."""

    subject: str
    until: dt.datetime
    locks_today: int

    @property
    def hard(self) -> bool:
        return is_hard(self.until)


def locks(session: Session, now: dt.datetime, subjects: Sequence[str] | None = None) -> list[Lock]:
    """Locks in force now (on ``subjects``, or on every subject), latest first."""
    query = select(LockoutCounter.subject, LockoutCounter.locked_until).where(
        LockoutCounter.locked_until > now
    )
    if subjects is not None:
        query = query.where(LockoutCounter.subject.in_(subjects))
    found = session.execute(query).all()
    escalations = dict(
        session.execute(
            select(LockoutCounter.subject, LockoutCounter.failures).where(
                LockoutCounter.subject.in_([escalation_subject(s) for s, _ in found]),
                _in_window(ESCALATION_WINDOW, now),
            )
        ).all()
    )
    listed = [
        Lock(subject, until, escalations.get(escalation_subject(subject), 0))
        for subject, until in found
        if until is not None  # the query's condition, for the type checker
    ]
    return sorted(listed, key=lambda lock: (lock.until, lock.subject), reverse=True)


def lift(session: Session, subject: str, *, actor: str) -> bool:
    """Forget ``subject``'s lock, failures and escalation count (after an operator checked
    who is asking), audited. Whether there was anything to forget."""
    found = False
    for counter in sorted((subject, escalation_subject(subject))):  # in :func:`admit`'s order
        deleted = session.execute(delete(LockoutCounter).where(LockoutCounter.subject == counter))
        found = found or bool(deleted.rowcount)  # type: ignore[attr-defined]
    audit.record(
        session, "lockout.reset", actor=actor, outcome="success", resource=subject, found=found
    )
    return found
