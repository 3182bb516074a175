"""Verifier: the PIN and one account detail pass or fail together, with lockout and audit."""

from __future__ import annotations

import datetime as dt
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import Settings
from ivr.db import transaction
from ivr.models import Account, AuditEvent, LockoutCounter
from tests.support.cli import cli_env, run_ivr
from tests.support.factories import ADA_PHONE, NOW, STRANGER, add_account
from verification import Verifier, VerifierPolicy, lockout
from verification.verifier import Outcome

ORIGIN = "call:CA1"
UNKNOWN = "70009999"


@pytest.fixture
def attempt(standalone_factory: sessionmaker[Session], settings: Settings):
    """One verification as the flow runs it: PIN verdict, detail kind, then conclude."""

    def run(
        number: str,
        pin: str,
        detail: str,
        *,
        caller: str | None = ADA_PHONE,
        now: dt.datetime = NOW,
    ) -> Outcome:
        with transaction(standalone_factory) as session:
            verifier = Verifier(
                session,
                VerifierPolicy.from_settings(settings),
                caller=caller,
                origin=ORIGIN,
                now=now,
            )
            pin_ok = verifier.pin_matches(number, pin)
            return verifier.conclude(number, pin_ok=pin_ok, detail=detail)

    return run


def locked_until(
    factory: sessionmaker[Session], settings: Settings, number: str, caller: str | None
) -> dt.datetime | None:
    with transaction(factory) as session:
        verifier = Verifier(
            session, VerifierPolicy.from_settings(settings), caller=caller, origin=ORIGIN, now=NOW
        )
        return verifier.locked_until(number)


def audit_rows(db: Session) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def summary(event: AuditEvent) -> tuple[str, str, str | None, str | None, str]:
    return (event.action, event.actor, event.resource, event.origin, event.outcome)


def test_policy_comes_from_settings(settings: Settings) -> None:
    policy = VerifierPolicy.from_settings(
        settings.replace(
            PIN_PEPPER="p",
            MAX_ACCOUNT_FAILURES=4,
            MAX_CALLER_FAILURES=7,
            MAX_ANONYMOUS_FAILURES=9,
            HARD_LOCK_AFTER=2,
            LOCKOUT_MINUTES=45,
        )
    )
    assert policy == VerifierPolicy(
        pepper="p",
        max_account_failures=4,
        max_caller_failures=7,
        max_anonymous_failures=9,
        hard_lock_after=2,
        lockout=dt.timedelta(minutes=45),
    )


def test_right_pin_and_zip_verify(db: Session, ada: Account, attempt) -> None:
    outcome = attempt("70000001", "1234", "94105")
    assert outcome.verified
    assert outcome.account is not None
    assert outcome.account.id == ada.id
    assert outcome.locked_until is None
    [event] = audit_rows(db)
    assert summary(event) == (
        "verification.attempt",
        f"caller:{ADA_PHONE}",
        "account:70000001",
        ORIGIN,
        "success",
    )
    assert event.detail == {}


def test_ssn_last4_verifies_an_account_without_a_service_zip(
    db: Session, settings: Settings, attempt
) -> None:
    add_account(db, settings, account_number="70000003", service_zip="", ssn_last4="6789")
    assert attempt("70000003", "1234", "6789").verified
    assert not attempt("70000003", "1234", "6788").verified
    # The ZIP field is empty: no ZIP-shaped answer can pass for it.
    assert not attempt("70000003", "1234", "00000").verified


def test_either_detail_verifies_an_account_that_has_both(
    db: Session, settings: Settings, attempt
) -> None:
    add_account(db, settings, account_number="70000004", service_zip="10001", ssn_last4="6789")
    assert attempt("70000004", "1234", "10001").verified
    assert attempt("70000004", "1234", "6789").verified
    assert not attempt("70000004", "1234", "6780").verified


@pytest.mark.parametrize(
    ("pin", "zip_code"),
    [("9999", "94105"), ("1234", "94106"), ("9999", "00000"), ("12345", "94105")],
)
def test_any_wrong_answer_fails_the_pair(db: Session, ada: Account, attempt, pin, zip_code):
    outcome = attempt("70000001", pin, zip_code)
    assert outcome == Outcome(None, locked_until=None)
    [event] = audit_rows(db)
    assert summary(event) == (
        "verification.attempt",
        f"caller:{ADA_PHONE}",
        "account:70000001",
        ORIGIN,
        "failure",
    )
    assert event.detail == {"account_exists": True}


def test_a_withheld_caller_is_audited_as_unknown(db: Session, ada: Account, attempt) -> None:
    attempt("70000001", "9999", "94105", caller=None)
    [event] = audit_rows(db)
    assert event.actor == "caller:unknown"


def test_the_account_locks_after_its_limit_from_any_phone(
    db: Session, settings: Settings, standalone_factory, ada: Account, attempt
) -> None:
    limit = settings.MAX_ACCOUNT_FAILURES
    until = NOW + dt.timedelta(minutes=settings.LOCKOUT_MINUTES)
    # A different caller each time, so only the account counter can reach its limit.
    callers = [f"+1202555{n:04d}" for n in range(limit)]
    outcomes = [attempt("70000001", "9999", "94105", caller=c) for c in callers]
    assert [o.locked_until for o in outcomes] == [None] * (limit - 1) + [until]
    assert not any(o.verified for o in outcomes)

    # Now even the right answers, from the account's own phone, are refused.
    assert attempt("70000001", "1234", "94105") == Outcome(None, locked_until=until)
    assert locked_until(standalone_factory, settings, "70000001", None) == until
    assert locked_until(standalone_factory, settings, "70000002", STRANGER) is None
    outcomes_audited = [event.outcome for event in audit_rows(db)]
    assert outcomes_audited == ["failure"] * (limit - 1) + ["locked", "refused"]

    later = until + dt.timedelta(seconds=1)
    assert attempt("70000001", "1234", "94105", now=later).verified


@pytest.mark.parametrize("real", [True, False], ids=["real-accounts", "made-up-numbers"])
def test_one_caller_id_locks_after_its_limit_across_accounts(
    db: Session, settings: Settings, standalone_factory, attempt, real: bool
) -> None:
    limit = settings.MAX_CALLER_FAILURES
    assert limit > 1
    until = NOW + dt.timedelta(minutes=settings.LOCKOUT_MINUTES)
    numbers = [f"8000000{n}" for n in range(limit + 1)]
    for number in numbers if real else numbers[-1:]:
        add_account(db, settings, account_number=number, phone="")
    outcomes = [attempt(number, "0000", "00000", caller=STRANGER) for number in numbers[:limit]]
    assert [o.locked_until for o in outcomes] == [None] * (limit - 1) + [until]

    # A fresh account number from the same phone is locked, with the right answers too...
    assert locked_until(standalone_factory, settings, numbers[-1], STRANGER) == until
    assert not attempt(numbers[-1], "1234", "94105", caller=STRANGER).verified
    # ...while the same account from another phone is not.
    assert locked_until(standalone_factory, settings, numbers[-1], ADA_PHONE) is None
    assert attempt(numbers[-1], "1234", "94105", caller=ADA_PHONE).verified


def test_success_clears_the_failure_counts_of_the_account_it_proved(
    db: Session, settings: Settings, standalone_factory, ada: Account, attempt
) -> None:
    for _ in range(settings.MAX_ACCOUNT_FAILURES - 1):
        attempt("70000001", "9999", "94105")
    assert attempt("70000001", "1234", "94105").verified
    db.expire_all()
    counts = dict(db.execute(select(LockoutCounter.subject, LockoutCounter.failures)).all())
    failed = settings.MAX_ACCOUNT_FAILURES - 1
    assert counts == {"account:70000001": 0, f"caller:{ADA_PHONE}": failed}
    # So the next failures on the account start again from zero.
    for n in range(settings.MAX_ACCOUNT_FAILURES - 1):
        caller = f"+1202555{n:04d}"
        assert attempt("70000001", "9999", "94105", caller=caller).locked_until is None


@pytest.mark.parametrize(
    ("caller", "limit_setting"),
    [(STRANGER, "MAX_CALLER_FAILURES"), (None, "MAX_ANONYMOUS_FAILURES")],
    ids=["caller-id", "withheld"],
)
def test_a_success_on_one_account_does_not_reset_the_callers_count(
    db: Session, settings: Settings, standalone_factory, attempt, caller, limit_setting
) -> None:
    """A caller who owns one account guesses at others, verifying their own account whenever
    one guess short of the limit: the guesses still add up to a lock, which then holds."""
    limit = getattr(settings, limit_setting)
    add_account(db, settings, account_number="70000009", phone="")
    until = NOW + dt.timedelta(minutes=settings.LOCKOUT_MINUTES)
    outcomes = []
    for guess in range(limit * 12 // 5):
        outcomes.append(attempt(f"8{guess:07d}", "0000", "00000", caller=caller))
        if guess % (limit - 1) == limit - 2:
            attempt("70000009", "1234", "94105", caller=caller)
    assert [o.locked_until for o in outcomes[:limit]] == [None] * (limit - 1) + [until]
    assert all(o.locked_until == until for o in outcomes[limit:])
    assert locked_until(standalone_factory, settings, "70000009", caller) == until
    assert not attempt("70000009", "1234", "94105", caller=caller).verified
    assert [e.outcome for e in audit_rows(db) if e.outcome != "refused"].count("failure") == (
        limit - 1
    )


def test_a_burst_against_a_locked_account_does_not_escalate_it(
    db: Session, settings: Settings, standalone_factory, ada: Account, attempt
) -> None:
    """Guesses refused by a lock count towards nothing: when the lock ends, the owner gets in."""
    limit = settings.MAX_ACCOUNT_FAILURES
    callers = [f"+1202555{n:04d}" for n in range(limit * settings.HARD_LOCK_AFTER * 5)]
    outcomes = [attempt(ada.number, "0000", "94105", caller=c) for c in callers]
    until = NOW + dt.timedelta(minutes=settings.LOCKOUT_MINUTES)
    assert {o.locked_until for o in outcomes[limit - 1 :]} == {until}
    later = until + dt.timedelta(seconds=1)
    assert attempt(ada.number, "1234", "94105", now=later).verified


def test_an_unknown_account_fails_and_locks_exactly_like_a_known_one(
    db: Session, settings: Settings, ada: Account, attempt
) -> None:
    callers = [f"+1202555{n:04d}" for n in range(settings.MAX_ACCOUNT_FAILURES + 1)]
    # A different caller each time, so that only the account counters are in play.
    known = [attempt("70000001", "9999", "94105", caller=caller) for caller in callers]
    unknown = [attempt(UNKNOWN, "9999", "94105", caller=caller) for caller in callers]
    until = NOW + dt.timedelta(minutes=settings.LOCKOUT_MINUTES)
    assert [o.locked_until for o in unknown] == [None] * (len(callers) - 2) + [until, until]
    assert known == unknown

    events = audit_rows(db)
    by_resource = {
        resource: [
            (e.action, e.actor, e.origin, e.outcome) for e in events if e.resource == resource
        ]
        for resource in ("account:70000001", f"account:{UNKNOWN}")
    }
    assert by_resource["account:70000001"] == by_resource[f"account:{UNKNOWN}"]
    assert len(by_resource["account:70000001"]) == len(callers)
    # Only the operator-facing detail says whether the number was real.
    assert [e.detail for e in events] == [{"account_exists": True}] * len(callers) + [
        {"account_exists": False}
    ] * len(callers)


def test_an_unknown_account_fails_even_with_another_accounts_answers(
    db: Session, ada: Account, attempt
) -> None:
    assert attempt(UNKNOWN, "1234", "94105") == Outcome(None, locked_until=None)
    [event] = audit_rows(db)
    assert (event.resource, event.outcome) == (f"account:{UNKNOWN}", "failure")


def test_no_answer_given_is_ever_written_down(
    db: Session, settings: Settings, standalone_factory, attempt
) -> None:
    add_account(db, settings, pin="86420", service_zip="97531")
    add_account(db, settings, account_number="70000003", service_zip="", ssn_last4="5319")
    given = ["86420", "97531", "5319", "1234", "24681", "13579", "9753"]
    attempt("70000001", "24681", "97531")
    attempt("70000001", "86420", "13579")
    attempt("70000003", "86420", "9753")
    attempt("70000003", "1234", "5319")
    attempt("70000001", "86420", "97531")

    events = audit_rows(db)
    assert [e.outcome for e in events] == ["failure", "failure", "failure", "success", "success"]
    for event in events:
        written = json.dumps(
            [event.actor, event.action, event.resource, event.origin, event.outcome, event.detail]
        )
        assert not [value for value in given if value in written], written
    subjects = db.scalars(select(LockoutCounter.subject)).all()
    assert not [value for value in given if value in " ".join(subjects)]


def test_repeated_lockouts_escalate_to_a_hard_lock_only_an_operator_lifts(
    ada: Account, attempt, standalone_factory, settings: Settings, database_url: str
) -> None:
    """Three lockouts in a day (each from a new phone, after each lock ran out) lock for good."""
    moment = NOW
    for lock in range(settings.HARD_LOCK_AFTER):
        caller = f"+1415555{lock:04d}"
        for _ in range(settings.MAX_ACCOUNT_FAILURES):
            outcome = attempt(ada.number, "0000", "94105", caller=caller, now=moment)
        assert outcome.locked_until is not None
        if lock < settings.HARD_LOCK_AFTER - 1:
            assert not lockout.is_hard(outcome.locked_until)
            moment = outcome.locked_until + dt.timedelta(minutes=1)
    assert lockout.is_hard(outcome.locked_until)
    far_later = moment + dt.timedelta(days=30)
    assert not attempt(ada.number, "1234", "94105", caller="+14155559999", now=far_later).verified

    env = cli_env(database_url)
    assert run_ivr(["accounts", "unlock", ada.number], env).exit_code == 0
    assert attempt(ada.number, "1234", "94105", caller="+14155559999", now=far_later).verified
    assert (
        attempt(ada.number, "0000", "94105", caller="+14155559998", now=far_later).locked_until
        is None
    )


def test_withheld_numbers_share_one_throttle_against_enumeration(
    db: Session, attempt, standalone_factory, settings: Settings
) -> None:
    """Guessing one account after another from a withheld number locks every withheld caller
    out for a while; callers who show their number are not affected."""
    add_account(db, settings)
    for guess in range(settings.MAX_ANONYMOUS_FAILURES):
        outcome = attempt(f"7100{guess:04d}", "1234", "94105", caller=None)
    assert outcome.locked_until is not None
    assert locked_until(standalone_factory, settings, "70000001", None) is not None
    assert not attempt("70000001", "1234", "94105", caller=None).verified
    assert attempt("70000001", "1234", "94105", caller=ADA_PHONE).verified


BURST = 50


def burst(factory: sessionmaker[Session], settings: Settings, guesses) -> None:
    """Run every ``(number, pin, detail, caller)`` guess at once, each in its own transaction."""
    start = threading.Barrier(len(guesses))

    def guess(number: str, pin: str, detail: str, caller: str | None) -> None:
        start.wait(timeout=30)
        with transaction(factory) as session:
            verifier = Verifier(
                session, VerifierPolicy.from_settings(settings), caller=caller, origin=ORIGIN,
                now=NOW,
            )  # fmt: skip
            verifier.conclude(number, pin_ok=verifier.pin_matches(number, pin), detail=detail)

    with ThreadPoolExecutor(len(guesses)) as pool:
        for future in [pool.submit(guess, *g) for g in guesses]:
            future.result(timeout=120)


@pytest.mark.parametrize("subject", ["account", "caller-id", "withheld"])
def test_a_burst_of_guesses_is_judged_at_most_up_to_the_limit(
    db: Session, settings: Settings, standalone_factory, ada: Account, subject: str
) -> None:
    """50 wrong guesses at once, against one account from 50 phones, or from one phone (or
    withheld numbers) against 50 accounts: exactly the limit is judged, the rest refused, and
    then the right answers are refused too, without a hard lock."""
    guesses, limit, caller = {
        "account": (
            [(ada.number, "0000", "94105", f"+1202555{n:04d}") for n in range(BURST)],
            settings.MAX_ACCOUNT_FAILURES, ADA_PHONE,
        ),
        "caller-id": (
            [(f"8{n:07d}", "0000", "94105", STRANGER) for n in range(BURST)],
            settings.MAX_CALLER_FAILURES, STRANGER,
        ),
        "withheld": (
            [(f"8{n:07d}", "0000", "94105", None) for n in range(BURST)],
            settings.MAX_ANONYMOUS_FAILURES, None,
        ),
    }[subject]  # fmt: skip
    burst(standalone_factory, settings, guesses)
    outcomes = [event.outcome for event in audit_rows(db)]
    assert len(outcomes) == BURST
    assert outcomes.count("failure") + outcomes.count("locked") == limit
    assert outcomes.count("refused") == BURST - limit

    until = NOW + dt.timedelta(minutes=settings.LOCKOUT_MINUTES)
    assert locked_until(standalone_factory, settings, ada.number, caller) == until
    burst(standalone_factory, settings, [(ada.number, "1234", "94105", caller)] * 5)
    assert [event.outcome for event in audit_rows(db)][BURST:] == ["refused"] * 5


def test_the_right_answer_in_a_burst_counts_only_before_the_limit(
    db: Session, settings: Settings, standalone_factory, ada: Account
) -> None:
    """A burst mixing the right answer in: the attempts run one after another per account, so
    at most the limit is judged wrong between two successes, and nothing after the lock."""
    guesses = [
        (ada.number, "1234" if n % 10 == 9 else "0000", "94105", f"+1202555{n:04d}")
        for n in range(BURST)
    ]
    burst(standalone_factory, settings, guesses)
    outcomes = [event.outcome for event in audit_rows(db)]  # in the order they were judged
    limit, wrong, locked = settings.MAX_ACCOUNT_FAILURES, 0, False
    for outcome in outcomes:
        if locked:
            assert outcome == "refused", outcomes
            continue
        assert outcome != "refused", outcomes
        wrong = 0 if outcome == "success" else wrong + 1
        assert wrong <= limit, outcomes
        locked = outcome == "locked"
    assert locked, outcomes
