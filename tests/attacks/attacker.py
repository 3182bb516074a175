"""An outsider's tools: parallel bursts against the served app, and what they prove.

Every attempt of a burst first walks up to its last answer (a call to the detail question, a
text conversation to the ZIP, a browser to the filled-in form), then parks; once all are
parked they are released together, phase after phase, so the final requests reach gunicorn at
the same moment. The verdicts come from what the attacker is told and from the database the
server writes (audit log, lockout counters, the sandbox gateway's books).
"""

from __future__ import annotations

import math
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.models import AuditEvent, LockoutCounter
from ivr.simulator.emulator import HANG_UP, Simulator
from verification import lockout

T = TypeVar("T")
Gate = Callable[[], None]  # an attempt calls it right before its final request
PARK_TIMEOUT_S = 60
# Audit outcomes of a verification attempt whose answers were checked. An attempt refused
# before it is judged (a lock in force, a limit already reached) is audited as "refused".
JUDGED = ("success", "failure", "locked")


class BurstBrokenError(RuntimeError):
    """An attempt failed before its burst was released; the message says which and why."""


def burst(
    *phases: Sequence[Callable[[Gate], T]], between: Callable[[], object] = lambda: None
) -> list[list[T]]:
    """Run every attempt of every phase up to its gate, then release each phase at once,
    once the previous phase has finished and ``between`` has looked at what it did; the
    results, phase by phase."""
    total = sum(len(phase) for phase in phases)
    parked = threading.Barrier(total + 1, timeout=PARK_TIMEOUT_S)
    gates = [threading.Event() for _ in phases]

    def gate_for(number: int) -> Gate:
        def wait() -> None:
            parked.wait()
            if not gates[number].wait(PARK_TIMEOUT_S):
                raise BurstBrokenError(f"phase {number + 1} was never released")

        return wait

    def guarded(attempt: Callable[[Gate], T], gate: Gate) -> T:
        try:
            return attempt(gate)
        except BaseException:
            parked.abort()  # nobody waits for an attempt that will never park
            raise

    with ThreadPoolExecutor(max_workers=total) as pool:
        futures = [
            [pool.submit(guarded, attempt, gate_for(number)) for attempt in phase]
            for number, phase in enumerate(phases)
        ]
        try:
            parked.wait()
        except threading.BrokenBarrierError:
            for gate in gates:
                gate.set()
            raise BurstBrokenError(_first_error(futures)) from None
        results = []
        try:
            for gate, phase_futures in zip(gates, futures, strict=True):
                gate.set()
                results.append([future.result(PARK_TIMEOUT_S) for future in phase_futures])
                between()
        finally:
            for gate in gates:  # a failed phase must not leave the next one parked
                gate.set()
        return results


def _first_error(futures: list[list[Future[T]]]) -> str:
    for future in (f for phase in futures for f in phase):
        error = future.exception(timeout=PARK_TIMEOUT_S)
        if error is not None and not isinstance(error, threading.BrokenBarrierError):
            return f"an attempt failed before the release: {error!r}"
    return "the attempts did not all park in time"


def verdict(heard: str) -> str:
    """What the caller or texter was told about their answers (voice and text word it alike)."""
    if "locked until" in heard:
        return "hard-locked"
    if "locked for the next" in heard:
        return "locked"
    if "could not verify" in heard:
        return "retry"
    if "Thank you." in heard:
        return "verified"
    return "other"


# --- the voice line -------------------------------------------------------------------------


class ParkedKeys:
    """Key presses for one call that park before the last one (the account detail)."""

    def __init__(self, presses: list[str], final: str, gate: Gate) -> None:
        self.presses = list(presses)
        self.final: str | None = final
        self.gate = gate
        self.parked_at = ""

    def __call__(self, prompt: str) -> str | None:
        if self.presses:
            return self.presses.pop(0)
        if self.final is None:
            return HANG_UP
        self.parked_at, final, self.final = prompt, self.final, None
        self.gate()
        return final


@dataclass(frozen=True)
class Guess:
    """One verification attempt: from ``caller`` (``"anonymous"``: withheld), on ``account``."""

    caller: str
    account: str
    pin: str
    detail: str


def voice_attempt(twilio: Simulator, guess: Guess) -> Callable[[Gate], str]:
    """A call that keys the account number and PIN, parks at the detail question, then answers
    it; the call's verdict."""

    def run(gate: Gate) -> str:
        keys = ParkedKeys(["", f"{guess.account}#", f"{guess.pin}#"], guess.detail, gate)
        record = twilio.call(keys, caller=guess.caller)
        assert "ZIP" in keys.parked_at, f"parked at the wrong prompt: {record.text}"
        return verdict(record.text)

    return run


# --- the text channel -----------------------------------------------------------------------


def message(twilio: Simulator, sender: str, body: str) -> str:
    """Text ``body`` from ``sender`` as Twilio delivers it; the reply's words."""
    form = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": twilio.account_sid,
        "From": sender,
        "To": "+15005550000",
        "Body": body,
        "NumMedia": "0",
    }
    status, reply = twilio.post("/sms/incoming", form)
    assert status == 200, f"/sms/incoming answered {status}: {reply[:200]}"
    return re.sub(r"<[^>]+>", "", reply).strip()


def text_attempt(twilio: Simulator, guess: Guess) -> Callable[[Gate], str]:
    """A texter who answers the PIN question, parks at the ZIP question, then answers it."""

    def run(gate: Gate) -> str:
        message(twilio, guess.caller, "hi")
        asked = message(twilio, guess.caller, guess.pin)
        assert "ZIP" in asked, f"parked at the wrong question: {asked}"
        gate()
        return verdict(message(twilio, guess.caller, guess.detail))

    return run


# --- what the database says -----------------------------------------------------------------


def last_audit_id(db: Session) -> int:
    db.rollback()
    return int(db.scalar(select(func.coalesce(func.max(AuditEvent.id), 0))))


def attempts(
    db: Session, since: int, *, resource: str | None = None, actor: str | None = None
) -> Counter[str]:
    """Outcomes of the verification attempts audited after event ``since``."""
    db.rollback()
    query = select(AuditEvent.outcome).where(
        AuditEvent.action == "verification.attempt", AuditEvent.id > since
    )
    if resource is not None:
        query = query.where(AuditEvent.resource == resource)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    return Counter(db.scalars(query))


def judged(outcomes: Counter[str]) -> int:
    return sum(outcomes[outcome] for outcome in JUDGED)


@dataclass(frozen=True)
class Standing:
    """A subject's row in the lockout table, and how often it was locked today."""

    locked: bool
    hard: bool
    locks_today: int


def standing(db: Session, subject: str) -> Standing:
    db.rollback()
    query = select(LockoutCounter).where(LockoutCounter.subject.in_([subject, f"locks:{subject}"]))
    rows = {row.subject: row for row in db.scalars(query)}
    row, locks = rows.get(subject), rows.get(f"locks:{subject}")
    until = row.locked_until if row is not None else None
    return Standing(
        locked=until is not None,
        hard=lockout.is_hard(until),
        locks_today=locks.failures if locks is not None else int(until is not None),
    )


# --- what it adds up to ---------------------------------------------------------------------


def per_hour(per_window: int, window_minutes: int, windows_per_day: int = 0) -> int:
    """The most guesses in any hour: a full window's worth each time a lock ends, at most
    ``windows_per_day`` windows (0: no hard lock)."""
    windows = math.ceil(60 / window_minutes) if window_minutes else 60
    return per_window * (min(windows, windows_per_day) if windows_per_day else windows)


@dataclass
class Ceilings:
    """Lines for the run's summary: per throttle, the most guesses an attacker gets."""

    lines: list[str] = field(repr=False)

    def report(self, throttle: str, line: str) -> None:
        self.lines.append(f"{throttle}: {line}")
