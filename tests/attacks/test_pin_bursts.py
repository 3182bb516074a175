"""PIN guesses fired at once, by voice and by text: a limit of N judges at most N of them.

Each guess comes from its own CallSid (or conversation) and caller ID, is walked up to its
last answer, and all are released together. The right PIN is in some of them; it must be
refused once the limit is reached, and one burst must not hard-lock the account.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from ivr.config import Settings
from ivr.simulator.emulator import Simulator
from tests.attacks.attacker import (
    Ceilings,
    Gate,
    Guess,
    Standing,
    attempts,
    burst,
    judged,
    last_audit_id,
    per_hour,
    standing,
    text_attempt,
    voice_attempt,
)
from tests.support.factories import add_account
from verification import lockout

pytestmark = pytest.mark.attack

BURST = 24
RIGHT_PIN, WRONG_PIN, ZIP = "1234", "9999", "94105"


def callers(prefix: str, count: int) -> list[str]:
    """Distinct valid caller IDs: ``prefix`` is +1, an area code and an exchange."""
    return [f"{prefix}{n:04d}" for n in range(count)]


def guesses(account: str, phones: list[str], pin: str) -> list[Guess]:
    return [Guess(phone, account, pin, ZIP) for phone in phones]


def check_wrong_burst_then_right_answers(
    db: Session,
    settings: Settings,
    ceilings: Ceilings,
    channel: str,
    attempt: Callable[[Guess], Callable[[Gate], str]],
    wrong: list[Guess],
    right: list[Guess],
) -> None:
    """Release ``wrong`` together, then ``right`` (parked before any lock); what the first
    burst got is the account throttle's ceiling."""
    [account] = {guess.account for guess in wrong + right}
    subject = lockout.account_subject(account)
    limit = settings.MAX_ACCOUNT_FAILURES
    start = last_audit_id(db)
    seen: list[tuple[Counter[str], Standing]] = []
    first, second = burst(
        [attempt(guess) for guess in wrong],
        [attempt(guess) for guess in right],
        between=lambda: seen.append((attempts(db, start, resource=subject), standing(db, subject))),
    )
    (after_first, locked), _ = seen
    account_ceiling(ceilings, settings, channel, judged(after_first), locked)

    assert judged(after_first) <= limit, (
        f"{judged(after_first)} of {len(wrong)} simultaneous guesses were judged against a "
        f"limit of {limit}: {dict(after_first)}; callers heard {sorted(first)}"
    )
    assert first.count("retry") <= limit - 1, sorted(first)
    assert "verified" not in first
    assert set(second) <= {"locked"}, (
        f"the right PIN and ZIP, sent once the limit was reached, got {sorted(second)}"
    )
    assert not locked.hard and locked.locks_today == 1, (
        f"one burst hard-locked the account or locked it {locked.locks_today} times"
    )
    after_second = attempts(db, start, resource=subject) - after_first
    assert judged(after_second) == 0, f"attempts judged while locked: {dict(after_second)}"
    final = standing(db, subject)
    assert final.locked and not final.hard and final.locks_today == 1, (
        f"attempts refused by the lock escalated it: {final}"
    )


def account_ceiling(
    ceilings: Ceilings, settings: Settings, channel: str, per_burst: int, after: Standing
) -> None:
    hard, minutes = settings.HARD_LOCK_AFTER, settings.LOCKOUT_MINUTES
    seen = (
        f"{per_burst} guesses judged and {after.locks_today} lock(s) from one burst "
        f"(MAX_ACCOUNT_FAILURES={settings.MAX_ACCOUNT_FAILURES}, LOCKOUT_MINUTES={minutes}, "
        f"HARD_LOCK_AFTER={hard})"
    )
    if after.hard:
        most = f"{per_burst} guesses, then a hard lock: the owner is locked out by one burst"
    else:
        most = (
            f"at most {per_hour(per_burst, minutes, hard)} guesses an hour and "
            f"{per_burst * hard} a day per account, then a hard lock"
        )
    ceilings.report(f"account PIN ({channel})", f"{seen}: {most}")


def test_simultaneous_voice_guesses_judge_at_most_the_limit_then_refuse_the_right_pin(
    db: Session, settings: Settings, twilio: Simulator, ceilings: Ceilings
) -> None:
    add_account(db, settings, account_number="71000001", phone="")
    phones = callers("+1202555", 2 * BURST)
    check_wrong_burst_then_right_answers(
        db,
        settings,
        ceilings,
        "voice",
        lambda guess: voice_attempt(twilio, guess),
        guesses("71000001", phones[:BURST], WRONG_PIN),
        guesses("71000001", phones[BURST:], RIGHT_PIN),
    )


def test_simultaneous_text_guesses_judge_at_most_the_limit_then_refuse_the_right_pin(
    db: Session, settings: Settings, twilio: Simulator, ceilings: Ceilings
) -> None:
    phones = callers("+1303555", 2 * BURST)  # a phone can text about its own account only
    add_account(db, settings, account_number="71000002", phone=";".join(phones))
    check_wrong_burst_then_right_answers(
        db,
        settings,
        ceilings,
        "text",
        lambda guess: text_attempt(twilio, guess),
        guesses("71000002", phones[:BURST], WRONG_PIN),
        guesses("71000002", phones[BURST:], RIGHT_PIN),
    )


def test_a_burst_with_the_right_pin_in_it_stops_judging_once_the_limit_is_reached(
    db: Session, settings: Settings, twilio: Simulator
) -> None:
    """Each success may forgive the account's failures, so at most N wrong guesses are judged
    per success plus one; the burst still ends in one lock, not a hard one."""
    add_account(db, settings, account_number="71000003", phone="")
    limit, right = settings.MAX_ACCOUNT_FAILURES, 3
    mixed = [
        Guess(phone, "71000003", RIGHT_PIN if n % (BURST // right) == 0 else WRONG_PIN, ZIP)
        for n, phone in enumerate(callers("+1415555", BURST))
    ]
    assert BURST - right > (right + 1) * (limit - 1), "too few wrong guesses to reach the lock"
    subject = lockout.account_subject("71000003")
    start = last_audit_id(db)
    [heard] = burst([voice_attempt(twilio, guess) for guess in mixed])
    outcomes = attempts(db, start, resource=subject)
    accepted = outcomes["success"]
    assert heard.count("verified") == accepted <= right
    assert outcomes["failure"] + outcomes["locked"] <= limit * (accepted + 1), (
        f"{outcomes['failure'] + outcomes['locked']} wrong guesses judged with {accepted} "
        f"successes against a limit of {limit}: {dict(outcomes)}"
    )
    final = standing(db, subject)
    assert final.locked and not final.hard and final.locks_today == 1, final


def check_one_caller_subject(
    db: Session,
    settings: Settings,
    twilio: Simulator,
    ceilings: Ceilings,
    *,
    caller: str,
    setting: str,
    guesses: int,
    accounts: str,
) -> None:
    """Guesses at as many accounts (numbered from ``accounts``) from one caller subject, all
    at once: at most the subject's limit (the setting named ``setting``) judged, then a lock."""
    limit = getattr(settings, setting)
    withheld = caller == "anonymous"
    start = last_audit_id(db)
    [heard] = burst(
        [
            voice_attempt(twilio, Guess(caller, str(int(accounts) + n), WRONG_PIN, ZIP))
            for n in range(guesses)
        ]
    )
    outcomes = attempts(db, start, actor=f"caller:{'unknown' if withheld else caller}")
    ceilings.report(
        "withheld numbers (one pool)" if withheld else "caller ID",
        f"{judged(outcomes)} guesses judged per burst ({setting}={limit}), LOCKOUT_MINUTES="
        f"{settings.LOCKOUT_MINUTES}, no hard lock: at most "
        f"{per_hour(judged(outcomes), settings.LOCKOUT_MINUTES)} guesses an hour "
        + (
            "for all callers who withhold their number together"
            if withheld
            else "per caller ID (which can be spoofed: the account's limit is what holds)"
        ),
    )
    assert judged(outcomes) <= limit, (
        f"{judged(outcomes)} of {guesses} simultaneous guesses from {caller} judged against a "
        f"limit of {limit}: {dict(outcomes)}; they heard {sorted(heard)}"
    )
    subject = lockout.ANONYMOUS if withheld else lockout.caller_subject(caller)
    assert standing(db, subject).locked


def test_one_caller_id_guessing_across_accounts_is_judged_at_most_its_limit(
    db: Session, settings: Settings, twilio: Simulator, ceilings: Ceilings
) -> None:
    check_one_caller_subject(
        db, settings, twilio, ceilings,
        caller="+12125550100", setting="MAX_CALLER_FAILURES", guesses=BURST, accounts="72000000",
    )  # fmt: skip


def test_withheld_numbers_share_one_throttle_under_a_burst(
    db: Session, settings: Settings, twilio: Simulator, ceilings: Ceilings
) -> None:
    check_one_caller_subject(
        db, settings, twilio, ceilings,
        caller="anonymous", setting="MAX_ANONYMOUS_FAILURES",
        guesses=settings.MAX_ANONYMOUS_FAILURES + 10, accounts="73000000",
    )  # fmt: skip
