"""Checking a caller's answers and keeping the lockout and audit trail straight.

The flow asks for the PIN first and one account detail second, but only :meth:`Verifier.conclude`
says whether the pair passed, so the caller never learns which answer was wrong.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from ivr import audit
from ivr.config import Settings
from ivr.models import Account
from verification import lockout
from verification.credentials import check, keyed_hash
from verification.lookup import find_account


class DetailKind(StrEnum):
    """The account detail given after the PIN. The caller chooses by its length, so the
    question is the same for every account number, real or not."""

    SERVICE_ZIP = "zip"
    SSN_LAST4 = "ssn4"


@dataclass(frozen=True)
class VerifierPolicy:
    pepper: str
    max_account_failures: int
    max_caller_failures: int
    max_anonymous_failures: int
    hard_lock_after: int
    lockout: dt.timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> VerifierPolicy:
        return cls(
            pepper=settings.PIN_PEPPER,
            max_account_failures=settings.MAX_ACCOUNT_FAILURES,
            max_caller_failures=settings.MAX_CALLER_FAILURES,
            max_anonymous_failures=settings.MAX_ANONYMOUS_FAILURES,
            hard_lock_after=settings.HARD_LOCK_AFTER,
            lockout=dt.timedelta(minutes=settings.LOCKOUT_MINUTES),
        )


@dataclass(frozen=True)
class Outcome:
    account: Account | None
    locked_until: dt.datetime | None = None

    @property
    def verified(self) -> bool:
        return self.account is not None


class Verifier:
    """Verification for one conversation: who calls (``caller``), from where (``origin``)."""

    def __init__(
        self,
        session: Session,
        policy: VerifierPolicy,
        *,
        caller: str | None,
        origin: str,
        now: dt.datetime,
    ) -> None:
        self.session = session
        self.policy = policy
        self.caller = caller
        self.origin = origin
        self.now = now

    def _subjects(self, number: str) -> list[str]:
        """The account number as typed, and the caller ID (or the withheld-number pool)."""
        caller = lockout.caller_subject(self.caller) if self.caller else lockout.ANONYMOUS
        return [lockout.account_subject(number), caller]

    def _limits(self) -> list[tuple[int, int]]:
        """(failures before a lock, locks before a hard lock) for each of :meth:`_subjects`."""
        policy = self.policy
        callers = policy.max_caller_failures if self.caller else policy.max_anonymous_failures
        return [(policy.max_account_failures, policy.hard_lock_after), (callers, 0)]

    def locked_until(self, number: str) -> dt.datetime | None:
        return lockout.locked_until(self.session, self._subjects(number), self.now)

    def pin_matches(self, number: str, pin: str) -> bool:
        account = find_account(self.session, number)
        return self._check(account, "pin", number, pin)

    def _detail_matches(
        self, account: Account | None, number: str, kind: DetailKind, value: str
    ) -> bool:
        if kind is DetailKind.SSN_LAST4:
            return self._check(account, "ssn4", number, value)
        return account is not None and account.service_zip == value

    def _check(self, account: Account | None, purpose: str, number: str, value: str) -> bool:
        """Check a keyed secret; a right answer under a retired pepper is re-hashed now."""
        column = "pin_hash" if purpose == "pin" else "ssn_last4_hash"
        stored = getattr(account, column) if account else None
        match = check(stored, self.policy.pepper, purpose, number, value)
        if match.ok and match.stale:
            setattr(account, column, keyed_hash(self.policy.pepper, purpose, number, value))
        return match.ok

    def conclude(self, number: str, *, pin_ok: bool, detail: str) -> Outcome:
        """Check the detail (5 digits: service ZIP; 4 digits: SSN last 4), record the attempt,
        and on failure count it against the account and the caller ID."""
        account = find_account(self.session, number)
        kind = DetailKind.SERVICE_ZIP if len(detail) == 5 else DetailKind.SSN_LAST4
        detail_ok = self._detail_matches(account, number, kind, detail)
        actor = f"caller:{self.caller or 'unknown'}"
        resource = f"account:{number}"
        standing = lockout.standing(self.session, self._subjects(number), self.now)
        locked = standing.locked_until
        if locked is None and account is not None and pin_ok and detail_ok:
            if standing.failures:
                lockout.clear(self.session, self._subjects(number))
            audit.record(
                self.session,
                "verification.attempt",
                actor=actor,
                outcome="success",
                resource=resource,
                origin=self.origin,
            )
            return Outcome(account)

        for subject, (limit, hard_after) in zip(
            self._subjects(number), self._limits(), strict=True
        ):
            until = lockout.record_failure(
                self.session, subject, limit, self.policy.lockout, self.now, hard_after
            )
            locked = max(filter(None, (locked, until)), default=None)
        audit.record(
            self.session,
            "verification.attempt",
            actor=actor,
            outcome="locked" if locked else "failure",
            resource=resource,
            origin=self.origin,
            account_exists=account is not None,
        )
        return Outcome(None, locked_until=locked)
