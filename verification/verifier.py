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

    def _throttles(self, number: str) -> list[lockout.Throttle]:
        """The account number as typed, and the caller ID (or the withheld-number pool)."""
        policy = self.policy
        account = lockout.Throttle(
            lockout.account_subject(number),
            policy.max_account_failures,
            hard_after=policy.hard_lock_after,
            cleared_by_success=True,
        )
        limit = policy.max_caller_failures if self.caller else policy.max_anonymous_failures
        return [account, lockout.Throttle(lockout.caller_or_pool(self.caller), limit)]

    def locked_until(self, number: str) -> dt.datetime | None:
        """When an attempt on ``number`` from this caller would be judged again (``None``: now)."""
        return lockout.blocked_until(
            self.session, self._throttles(number), self.policy.lockout, self.now
        )

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

    def _audit(self, number: str, outcome: str, **detail: object) -> None:
        audit.record(
            self.session, "verification.attempt", actor=f"caller:{self.caller or 'unknown'}",
            outcome=outcome, resource=f"account:{number}", origin=self.origin, **detail,
        )  # fmt: skip

    def conclude(self, number: str, *, pin_ok: bool, detail: str) -> Outcome:
        """Count the attempt against the account and the caller ID, and only then check the
        detail (5 digits: service ZIP; 4 digits: SSN last 4) and judge the pair: an attempt
        that cannot be counted (a lock, or a limit reached) is refused unjudged."""
        account = find_account(self.session, number)
        exists = account is not None
        admission = lockout.admit(
            self.session, self._throttles(number), self.policy.lockout, self.now
        )
        if admission is None:
            self._audit(number, "refused", account_exists=exists)
            return Outcome(None, locked_until=self.locked_until(number) or self.now)

        kind = DetailKind.SERVICE_ZIP if len(detail) == 5 else DetailKind.SSN_LAST4
        detail_ok = self._detail_matches(account, number, kind, detail)
        if account is not None and pin_ok and detail_ok:
            lockout.succeeded(self.session, admission)
            self._audit(number, "success")
            return Outcome(account)

        locked = lockout.failed(self.session, admission, self.policy.lockout, self.now)
        self._audit(number, "locked" if locked else "failure", account_exists=exists)
        return Outcome(None, locked_until=locked)
